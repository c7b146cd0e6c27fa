import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { Keys } from '../keys/index.js';
import type { AlertBaselineRecord, AlertRecord, AlertRuleRecord, Store, StoreOps } from '../store/index.js';
import { UsageColumns, type UsageEvent, type UsageFeed } from '../usage/index.js';
import { DEFAULT_SPIKE_MIN_COUNT, DEFAULT_SPIKE_MIN_HISTORY_WINDOWS, inScope } from './alert-rule.js';
import { type EvaluationPlan, planEvaluation } from './evaluation-plan.js';
import { addToBaseline, isSpike } from './spike.js';
import { windowStart } from './window.js';

export interface AlertEvaluatorOptions {
  /** Batches waiting for evaluation beyond this are dropped (and counted): memory stays bounded. */
  maxPendingBatches?: number;
  /** (key, network) pairs remembered in-process, so known networks cost no store round trip. */
  knownNetworksCacheSize?: number;
  /** How often expired window counters are purged, in ms. */
  purgeIntervalMs?: number;
}

/** Something worth an alert, before the cool-down claim decides whether it fires. */
interface Candidate {
  rule: AlertRuleRecord;
  subject: string;
  keyId: string | null;
  detail: Record<string, unknown>;
  /** The claim holds at least this long (the end of the window that fired), whatever the cool-down. */
  holdUntil: number;
}

const MAX_BASELINE_RETRIES = 20;

/**
 * Evaluates alert rules against usage batches as the usage recorder flushes them. Every count
 * it relies on lives in the store, updated by upserts: any number of nodes evaluate their own
 * traffic and together see the cluster's. Per batch and workspace:
 *
 * 1. one transaction adds the batch to window counters and spike baselines, and remembers the
 *    networks keys were seen from;
 * 2. after it commits, window sums are read — so of two nodes flushing at once, the later one
 *    sees both — and every condition that holds becomes a candidate;
 * 3. each candidate fires in its own transaction, only if it wins the cool-down claim (exactly
 *    one node does): the alert row, the `alert.fired` outbox event and the actions commit together.
 *
 * It never scans usage events: work is proportional to the batch.
 */
export class AlertEvaluator {
  private readonly firedListeners: ((alert: AlertRecord) => void)[] = [];
  private readonly errorListeners: ((err: unknown) => void)[] = [];
  private readonly knownNetworks = new Set<string>();
  /** `rule\0subject` → until when this node knows the claim is held (it fired): skip the round trip. */
  private readonly coolingUntil = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private lastPurge = Number.NEGATIVE_INFINITY;
  /** Batches dropped because evaluation fell behind. */
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly options: AlertEvaluatorOptions = {},
  ) {}

  /** Evaluates every batch `feed` announces (after it is durably stored). */
  attach(feed: UsageFeed): void {
    feed.onFlushed((batch) => this.enqueue(batch));
  }

  /** Tells `listener` (SIEM export, metrics) about each alert once it is committed. */
  onFired(listener: (alert: AlertRecord) => void): void {
    this.firedListeners.push(listener);
  }

  /** Tells `listener` about a batch whose evaluation failed (its contribution is lost). */
  onError(listener: (err: unknown) => void): void {
    this.errorListeners.push(listener);
  }

  /** Queues a batch; batches are evaluated one at a time, in order. Never throws. */
  enqueue(batch: readonly UsageEvent[] | UsageColumns): void {
    if (this.pending >= (this.options.maxPendingBatches ?? 100)) {
      this.dropped++;
      this.report(new Error('alert evaluation is behind: a usage batch was dropped'));
      return;
    }
    this.pending++;
    this.queue = this.queue
      .then(() => this.evaluate(batch))
      .then(
        () => undefined,
        (err: unknown) => this.report(err),
      )
      .finally(() => {
        this.pending--;
      });
  }

  /** Resolves once every queued batch has been evaluated. */
  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * Evaluates one batch; resolves to the alerts this node fired. A workspace's events are looked
   * at only when it has enabled rules: for the others nothing is built.
   */
  async evaluate(batch: readonly UsageEvent[] | UsageColumns): Promise<AlertRecord[]> {
    const now = this.clock.now();
    const columns = batch instanceof UsageColumns;
    const workspaces = columns ? batch.workspaceIds() : new Set(batch.map((e) => e.workspaceId));
    const fired: AlertRecord[] = [];
    for (const workspaceId of workspaces) {
      const rules = await this.store.listEnabledAlertRules(workspaceId);
      if (rules.length === 0) continue;
      const events = (columns ? batch.events() : batch).filter((e) => e.workspaceId === workspaceId);
      const candidates = await this.candidates(workspaceId, planEvaluation(rules, events, now), now);
      for (const c of candidates) {
        const cooling = `${c.rule.id}\0${c.subject}`;
        if ((this.coolingUntil.get(cooling) ?? 0) > now) continue;
        const alert = await this.fire(workspaceId, c, now);
        if (!alert) continue;
        fired.push(alert);
        if (this.coolingUntil.size >= 10_000) this.coolingUntil.clear();
        this.coolingUntil.set(cooling, Math.max(now + c.rule.cooldownSeconds * 1000, c.holdUntil));
      }
    }
    await this.purge(now);
    return fired;
  }

  private async candidates(workspaceId: string, plan: EvaluationPlan, now: number): Promise<Candidate[]> {
    const out: Candidate[] = [];
    // Most batches of a busy key touch only networks this node already knows: no transaction.
    const nothingToWrite =
      plan.increments.length === 0 &&
      plan.spikes.size === 0 &&
      [...plan.sightings].every(([keyId, seen]) =>
        [...seen.keys()].every((n) => this.knownNetworks.has(`${keyId}\0${n}`)),
      );
    const { spikes, networks } = nothingToWrite
      ? { spikes: [], networks: new Map<string, { network: string; ip: string }[]>() }
      : await this.store.transaction(async (tx) => {
          if (plan.increments.length > 0) await tx.addAlertCounts(plan.increments);
          return {
            spikes: await this.updateBaselines(tx, plan, now),
            networks: await this.remember(tx, workspaceId, plan, now),
          };
        });

    // Read after the commit: of two nodes that counted at the same moment, the later sees both.
    for (const [rule, subjects] of plan.windowed) {
      const c = rule.condition;
      if (c.type !== 'threshold' && c.type !== 'failure_burst') continue;
      const sums = await this.store.sumAlertCounts(
        rule.id,
        [...subjects].sort(),
        windowStart(now, c.windowSeconds),
      );
      for (const subject of [...subjects].sort()) {
        const count = sums.get(subject) ?? 0;
        if (count < c.count) continue;
        const holdUntil = now + c.windowSeconds * 1000;
        if (c.type === 'threshold')
          out.push({
            rule,
            subject,
            keyId: subject,
            holdUntil,
            detail: {
              type: 'threshold',
              metric: c.metric,
              count,
              threshold: c.count,
              windowSeconds: c.windowSeconds,
            },
          });
        else
          out.push({
            rule,
            subject,
            keyId: null,
            holdUntil,
            detail: {
              type: 'failure_burst',
              ip: subject.slice('ip:'.length),
              count,
              threshold: c.count,
              windowSeconds: c.windowSeconds,
            },
          });
      }
    }

    for (const { rule, state } of spikes) {
      const c = rule.condition;
      if (c.type !== 'spike') continue;
      const limits = {
        factor: c.factor,
        minCount: c.minCount ?? DEFAULT_SPIKE_MIN_COUNT,
        minHistoryWindows: c.minHistoryWindows ?? DEFAULT_SPIKE_MIN_HISTORY_WINDOWS,
      };
      if (!isSpike(state, limits)) continue;
      out.push({
        rule,
        subject: state.subject,
        keyId: state.subject,
        holdUntil: state.bucket + c.windowSeconds * 1000,
        detail: {
          type: 'spike',
          count: state.count,
          baseline: Math.round(state.baseline * 100) / 100,
          factor: c.factor,
          windowSeconds: c.windowSeconds,
          windowStart: new Date(state.bucket).toISOString(),
        },
      });
    }

    for (const [keyId, added] of networks) {
      for (const rule of plan.newIpRules) {
        if (!inScope(rule, keyId, plan.keyspaceOf.get(keyId) ?? null)) continue;
        const first = added[0];
        if (!first) continue;
        out.push({
          rule,
          subject: keyId,
          keyId,
          holdUntil: now,
          detail: {
            type: 'new_ip',
            ip: first.ip,
            network: first.network,
            networks: added.map((a) => a.network),
          },
        });
      }
    }
    return out;
  }

  /** Check-and-set per (rule, key), in one fixed order so concurrent nodes cannot deadlock. */
  private async updateBaselines(
    tx: StoreOps,
    plan: EvaluationPlan,
    now: number,
  ): Promise<{ rule: AlertRuleRecord; state: AlertBaselineRecord }[]> {
    const out: { rule: AlertRuleRecord; state: AlertBaselineRecord }[] = [];
    const rules = [...plan.spikes.keys()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const rule of rules) {
      const c = rule.condition;
      const perKey = plan.spikes.get(rule);
      if (c.type !== 'spike' || !perKey) continue;
      const windowMs = c.windowSeconds * 1000;
      for (const keyId of [...perKey.keys()].sort()) {
        const windows = [...(perKey.get(keyId) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
        for (let attempt = 0; ; attempt++) {
          const current = await tx.getAlertBaseline(rule.id, keyId);
          let state = current;
          for (const [bucket, n] of windows)
            state = addToBaseline(state, { ruleId: rule.id, subject: keyId }, windowMs, bucket, n, now);
          if (!state) break;
          if (await tx.saveAlertBaseline(state, current?.version ?? null)) {
            out.push({ rule, state });
            break;
          }
          if (attempt >= MAX_BASELINE_RETRIES)
            throw new Error(`spike baseline of rule ${rule.id}: too much contention`);
        }
      }
    }
    return out;
  }

  /** Stores the networks not known yet; per key, those that are new for a key seen before. */
  private async remember(
    tx: StoreOps,
    workspaceId: string,
    plan: EvaluationPlan,
    now: number,
  ): Promise<Map<string, { network: string; ip: string }[]>> {
    const out = new Map<string, { network: string; ip: string }[]>();
    for (const keyId of [...plan.sightings.keys()].sort()) {
      const seen = plan.sightings.get(keyId) ?? new Map<string, string>();
      const unknown = [...seen.keys()].filter((n) => !this.knownNetworks.has(`${keyId}\0${n}`));
      if (unknown.length === 0) continue;
      const { known, added } = await tx.rememberKeyNetworks(workspaceId, keyId, unknown, now);
      // The key's very first use teaches its first network(s); it is not an alert.
      if (known && added.length > 0)
        out.set(
          keyId,
          added.map((network) => ({ network, ip: seen.get(network) ?? network })),
        );
      tx.afterCommit(() => {
        if (this.knownNetworks.size + unknown.length > (this.options.knownNetworksCacheSize ?? 100_000))
          this.knownNetworks.clear();
        for (const n of unknown) this.knownNetworks.add(`${keyId}\0${n}`);
      });
    }
    return out;
  }

  /**
   * Fires one candidate if it wins the cool-down claim: the alert, its outbox event and its
   * actions commit together, so a firing acts exactly once or not at all.
   */
  private async fire(workspaceId: string, c: Candidate, now: number): Promise<AlertRecord | null> {
    const alert = await this.store.transaction(async (tx) => {
      const rule = await tx.getAlertRule(workspaceId, c.rule.id);
      if (!rule?.enabled) return null;
      const until = Math.max(now + rule.cooldownSeconds * 1000, c.holdUntil);
      if (!(await tx.claimAlertFiring(rule.id, c.subject, now, until))) return null;

      const id = newId('alert', this.random);
      const cause = {
        actor: `alert_rule:${rule.id}`,
        cause: 'alert',
        reason: `alert rule "${rule.name}" (${rule.condition.type})`,
        data: { alertId: id, ruleId: rule.id },
      };
      const actions: Record<string, unknown>[] = [];
      if (c.keyId !== null) {
        // Rotate before disabling: only an active key can be rotated, and "rotate + disable"
        // means a replacement now and no grace period for the old key.
        if (rule.actions.includes('rotate')) {
          const r = await this.keys.rotateBySystem(workspaceId, c.keyId, cause, tx);
          actions.push(
            r.rotated
              ? {
                  action: 'rotate',
                  outcome: 'done',
                  newKeyId: r.newKeyId,
                  gracePeriodSeconds: r.gracePeriodSeconds,
                }
              : { action: 'rotate', outcome: 'skipped', reason: r.reason },
          );
        }
        if (rule.actions.includes('disable')) {
          const r = await this.keys.disableBySystem(workspaceId, c.keyId, cause, tx);
          actions.push(
            r.disabled
              ? { action: 'disable', outcome: 'done' }
              : { action: 'disable', outcome: 'skipped', reason: r.reason },
          );
        }
      }
      const notify = rule.actions.includes('notify');
      if (notify) actions.unshift({ action: 'notify', outcome: 'done' });
      const record: AlertRecord = {
        id,
        workspaceId,
        ruleId: rule.id,
        keyId: c.keyId,
        subject: c.subject,
        at: now,
        detail: { ...c.detail, ruleName: rule.name, actions },
      };
      await tx.insertAlert(record);
      if (notify)
        await tx.recordEvent({
          id: newId('event', this.random),
          workspaceId,
          type: 'alert.fired',
          data: {
            alertId: record.id,
            ruleId: rule.id,
            ruleName: rule.name,
            keyId: record.keyId,
            at: new Date(now).toISOString(),
            detail: record.detail,
          },
          createdAt: now,
        });
      return record;
    });
    if (alert) for (const l of this.firedListeners) this.safely(() => l(alert));
    return alert;
  }

  private async purge(now: number): Promise<void> {
    if (now - this.lastPurge < (this.options.purgeIntervalMs ?? 60_000)) return;
    this.lastPurge = now;
    await this.store.purgeAlertCounts(now);
  }

  private report(err: unknown): void {
    for (const l of this.errorListeners) this.safely(() => l(err));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // A listener's failure must not stop evaluation.
    }
  }
}
