import type { AlertCountIncrement, AlertRuleRecord } from '../store/index.js';
import type { UsageEvent } from '../usage/index.js';
import { inScope, isFailure } from './alert-rule.js';
import { canonicalIp, ipNetwork } from './network.js';
import { stepExpiry, stepOf, windowStart } from './window.js';

/**
 * What one flushed batch means for one workspace's rules, worked out in memory before anything
 * touches the store: counter increments, spike counts per window, and the networks each key
 * was seen from. Pure, so the store work afterwards is a few batched statements.
 */
export interface EvaluationPlan {
  /** Threshold and failure-burst counters to add to. */
  increments: AlertCountIncrement[];
  /** Per windowed rule: the subjects whose window sum must be checked. */
  windowed: Map<AlertRuleRecord, Set<string>>;
  /** Per spike rule and key: verifications per window start. */
  spikes: Map<AlertRuleRecord, Map<string, Map<number, number>>>;
  /** Per key: the networks it was seen from in this batch, and one address of each. */
  sightings: Map<string, Map<string, string>>;
  /** The new-IP rules, and which keys each covers (keyspace of each sighted key). */
  newIpRules: AlertRuleRecord[];
  keyspaceOf: Map<string, string | null>;
}

function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

export function planEvaluation(
  rules: readonly AlertRuleRecord[],
  events: readonly UsageEvent[],
  now: number,
): EvaluationPlan {
  const plan: EvaluationPlan = {
    increments: [],
    windowed: new Map(),
    spikes: new Map(),
    sightings: new Map(),
    newIpRules: [],
    keyspaceOf: new Map(),
  };
  const counts = new Map<
    string,
    { ruleId: string; subject: string; bucket: number; window: number; n: number }
  >();
  const count = (rule: AlertRuleRecord, subject: string, at: number, windowSeconds: number) => {
    // Events already outside the window can never count: do not store them.
    if (at < windowStart(now, windowSeconds)) return;
    const bucket = stepOf(at, windowSeconds);
    const k = `${rule.id}\0${subject}\0${bucket}`;
    const row = getOrSet(counts, k, () => ({
      ruleId: rule.id,
      subject,
      bucket,
      window: windowSeconds,
      n: 0,
    }));
    row.n++;
    getOrSet(plan.windowed, rule, () => new Set<string>()).add(subject);
  };

  for (const rule of rules) {
    const c = rule.condition;
    if (c.type === 'new_ip') plan.newIpRules.push(rule);
    for (const e of events) {
      switch (c.type) {
        case 'threshold':
          if (e.keyId === null || !inScope(rule, e.keyId, e.keyspaceId)) break;
          if (c.metric === 'failures' && !isFailure(e.code, c.codes)) break;
          count(rule, e.keyId, e.at, c.windowSeconds);
          break;
        case 'failure_burst': {
          // Across every key of the workspace, unknown ones (NOT_FOUND, keyId null) included.
          if (e.ip === null || !isFailure(e.code, c.codes)) break;
          const ip = canonicalIp(e.ip);
          if (ip !== null) count(rule, `ip:${ip}`, e.at, c.windowSeconds);
          break;
        }
        case 'spike': {
          if (e.keyId === null || !inScope(rule, e.keyId, e.keyspaceId)) break;
          const windowMs = c.windowSeconds * 1000;
          const perKey = getOrSet(plan.spikes, rule, () => new Map<string, Map<number, number>>());
          bump(
            getOrSet(perKey, e.keyId, () => new Map<number, number>()),
            Math.floor(e.at / windowMs) * windowMs,
          );
          break;
        }
        case 'new_ip':
          break;
      }
    }
  }

  if (plan.newIpRules.length > 0) {
    for (const e of events) {
      if (e.keyId === null || e.ip === null) continue;
      const keyId = e.keyId;
      if (!plan.newIpRules.some((r) => inScope(r, keyId, e.keyspaceId))) continue;
      const network = ipNetwork(e.ip);
      if (network === null) continue;
      const seen = getOrSet(plan.sightings, keyId, () => new Map<string, string>());
      if (!seen.has(network)) seen.set(network, canonicalIp(e.ip) ?? e.ip);
      plan.keyspaceOf.set(keyId, e.keyspaceId);
    }
  }

  for (const r of counts.values())
    plan.increments.push({
      ruleId: r.ruleId,
      subject: r.subject,
      bucket: r.bucket,
      count: r.n,
      expiresAt: stepExpiry(r.bucket, r.window),
    });
  return plan;
}
