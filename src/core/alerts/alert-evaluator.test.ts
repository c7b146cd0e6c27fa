import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../audit/index.js';
import { InProcessCacheBus } from '../cache-bus/index.js';
import { ManualClock } from '../clock/index.js';
import { secureRandom } from '../crypto/index.js';
import { Keys } from '../keys/index.js';
import { Keyspaces } from '../keyspaces/index.js';
import { MemoryRateLimiter } from '../ratelimit/index.js';
import { type CallContext, PermissionSet } from '../root-keys/index.js';
import { type AlertCondition, type AlertRuleRecord, MemoryStore } from '../store/index.js';
import { UsageColumns, type UsageEvent } from '../usage/index.js';
import { Verifier } from '../verification/index.js';
import { AlertEvaluator } from './alert-evaluator.js';
import type { AlertRuleInput } from './alert-rule.js';
import { AlertRules } from './alert-rules.js';

const WS = 'ws_alerts0000000';
const OTHER_WS = 'ws_other00000000';
const MINUTE = 60_000;
const ctx: CallContext = {
  principal: { workspaceId: WS, rootKeyId: 'rk_alerts', permissions: new PermissionSet(['*']) },
  ip: '127.0.0.1',
};

describe('AlertEvaluator', () => {
  let store: MemoryStore;
  let clock: ManualClock;
  let keys: Keys;
  let rules: AlertRules;
  let evaluator: AlertEvaluator;
  let verifier: Verifier;
  let keyspaceId: string;
  let otherKeyspaceId: string;
  /** Two keys in `keyspaceId`, one in `otherKeyspaceId`, with their plaintexts. */
  let k1: { id: string; key: string };
  let k2: { id: string; key: string };
  let k3: { id: string; key: string };

  beforeEach(async () => {
    store = new MemoryStore();
    // Start on a minute boundary, so windows line up with the test's arithmetic.
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const bus = new InProcessCacheBus();
    const audit = new AuditLog(store, clock);
    keys = new Keys(store, audit, bus, clock, secureRandom);
    rules = new AlertRules(store, audit, clock, secureRandom);
    evaluator = new AlertEvaluator(store, keys, clock, secureRandom);
    verifier = new Verifier(store, bus, clock, new MemoryRateLimiter(clock), {
      cacheSize: 100,
      cacheTtlMs: 60_000,
      negativeTtlMs: 2_000,
    });
    await store.insertWorkspace({ id: WS, name: 'alerts', createdAt: 0 });
    await store.insertWorkspace({ id: OTHER_WS, name: 'other', createdAt: 0 });
    const keyspaces = new Keyspaces(store, audit, clock, secureRandom);
    keyspaceId = (await keyspaces.create(ctx, { name: 'api', rotation: { gracePeriodSeconds: 3600 } })).id;
    otherKeyspaceId = (await keyspaces.create(ctx, { name: 'other' })).id;
    const issue = async (ks: string) => {
      const created = await keys.create(ctx, ks, {});
      return { id: created.record.id, key: created.key };
    };
    k1 = await issue(keyspaceId);
    k2 = await issue(keyspaceId);
    k3 = await issue(otherKeyspaceId);
  });

  const rule = (condition: AlertCondition, over: Partial<AlertRuleInput> = {}): Promise<AlertRuleRecord> =>
    rules.create(ctx, { name: `${condition.type} rule`, condition, actions: ['notify'], ...over });

  /** A verification event of `key` now (or of no key: an unknown key presented). */
  const ev = (key: { id: string } | null, over: Partial<UsageEvent> = {}): UsageEvent => ({
    at: clock.now(),
    keyId: key?.id ?? null,
    keyspaceId: key === null ? null : key === k3 ? otherKeyspaceId : keyspaceId,
    workspaceId: WS,
    code: key === null ? 'NOT_FOUND' : 'VALID',
    ip: '203.0.113.9',
    origin: null,
    resource: null,
    latencyUs: 40,
    ...over,
  });
  const times = (n: number, make: (i: number) => UsageEvent): UsageEvent[] =>
    Array.from({ length: n }, (_, i) => make(i));
  const alerts = () => store.listAlerts(WS, { limit: 100 });

  describe('threshold', () => {
    const condition: AlertCondition = {
      type: 'threshold',
      metric: 'verifications',
      count: 10,
      windowSeconds: 60,
    };

    it('fires once the key reaches `count` verifications within the window', async () => {
      const r = await rule(condition);

      const fired = await evaluator.evaluate(times(10, () => ev(k1)));

      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        ruleId: r.id,
        keyId: k1.id,
        detail: { type: 'threshold', metric: 'verifications', count: 10, threshold: 10, windowSeconds: 60 },
      });
      expect(await alerts()).toEqual(fired);
    });

    it('counts across batches', async () => {
      await rule(condition);

      expect(await evaluator.evaluate(times(6, () => ev(k1)))).toEqual([]);
      clock.advance(20_000);
      expect(await evaluator.evaluate(times(4, () => ev(k1)))).toHaveLength(1);
    });

    it('does not fire below the count', async () => {
      await rule(condition);

      expect(await evaluator.evaluate(times(9, () => ev(k1)))).toEqual([]);
    });

    it('does not fire when the same traffic is spread beyond the window', async () => {
      await rule(condition);

      for (let i = 0; i < 20; i++) {
        expect(await evaluator.evaluate(times(3, () => ev(k1)))).toEqual([]);
        clock.advance(25_000);
      }
    });

    it('with metric failures counts only non-VALID outcomes, narrowed by codes', async () => {
      await rule({
        type: 'threshold',
        metric: 'failures',
        count: 5,
        windowSeconds: 60,
        codes: ['FORBIDDEN'],
      });

      const quiet = await evaluator.evaluate([
        ...times(20, () => ev(k1)),
        ...times(4, () => ev(k1, { code: 'FORBIDDEN' })),
        ...times(4, () => ev(k1, { code: 'RATE_LIMITED' })),
      ]);
      const loud = await evaluator.evaluate([ev(k1, { code: 'FORBIDDEN' })]);

      expect(quiet).toEqual([]);
      expect(loud).toHaveLength(1);
    });

    it('counts each key of a workspace-wide rule on its own', async () => {
      await rule(condition);

      expect(await evaluator.evaluate([...times(6, () => ev(k1)), ...times(6, () => ev(k2))])).toEqual([]);
    });

    it('honours the scope: a key rule ignores other keys, a keyspace rule other keyspaces', async () => {
      const onKey = await rule(condition, { keyId: k2.id });
      const onKeyspace = await rule(condition, { keyspaceId: otherKeyspaceId });

      const fired = await evaluator.evaluate([
        ...times(10, () => ev(k1)),
        ...times(10, () => ev(k2)),
        ...times(10, () => ev(k3)),
      ]);

      expect(fired.map((a) => [a.ruleId, a.keyId]).sort()).toEqual(
        [
          [onKey.id, k2.id],
          [onKeyspace.id, k3.id],
        ].sort(),
      );
    });

    it("ignores another workspace's traffic", async () => {
      await rule(condition);

      expect(await evaluator.evaluate(times(10, () => ev(k1, { workspaceId: OTHER_WS })))).toEqual([]);
    });

    it('ignores disabled and deleted rules', async () => {
      const disabled = await rule(condition);
      const deleted = await rule(condition);
      await rules.update(ctx, disabled.id, { enabled: false });
      await rules.delete(ctx, deleted.id);

      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toEqual([]);
    });
  });

  describe('failure_burst', () => {
    const condition: AlertCondition = { type: 'failure_burst', count: 20, windowSeconds: 60 };

    it('fires on failures from one IP across keys, unknown keys included', async () => {
      const r = await rule(condition);

      const fired = await evaluator.evaluate([
        ...times(15, () => ev(null, { ip: '198.51.100.7' })),
        ...times(3, () => ev(k1, { ip: '198.51.100.7', code: 'FORBIDDEN' })),
        ...times(2, () => ev(k3, { ip: '::ffff:198.51.100.7', code: 'EXPIRED' })),
      ]);

      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        ruleId: r.id,
        keyId: null,
        subject: 'ip:198.51.100.7',
        detail: { type: 'failure_burst', ip: '198.51.100.7', count: 20, threshold: 20 },
      });
    });

    it('does not fire on successes, or on failures spread over many addresses', async () => {
      await rule(condition);

      const fired = await evaluator.evaluate([
        ...times(50, () => ev(k1, { ip: '198.51.100.7' })),
        ...times(19, () => ev(null, { ip: '198.51.100.7' })),
        ...times(40, (i) => ev(null, { ip: `198.51.100.${10 + i}` })),
      ]);

      expect(fired).toEqual([]);
    });

    it('is refused with a key or keyspace scope, or with an action other than notify', async () => {
      await expect(rule(condition, { keyspaceId })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(rule(condition, { actions: ['disable'] })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('spike', () => {
    const condition: AlertCondition = { type: 'spike', factor: 3, windowSeconds: 60 };

    /** `perWindow(i)` verifications of k1 in each of `n` consecutive minutes; ends at the next minute. */
    async function steady(n: number, perWindow: (i: number) => number) {
      const fired = [];
      for (let i = 0; i < n; i++) {
        fired.push(...(await evaluator.evaluate(times(perWindow(i), () => ev(k1)))));
        clock.advance(MINUTE);
      }
      return fired;
    }

    it('does not fire for a new key, however much it is used', async () => {
      await rule(condition);

      expect(await evaluator.evaluate(times(500, () => ev(k1)))).toEqual([]);
    });

    it('does not fire on steady traffic with ordinary variation', async () => {
      await rule(condition);

      expect(await steady(30, (i) => 20 + ((i * 7) % 11))).toEqual([]);
    });

    it('fires when a window reaches `factor` times the key’s moving baseline', async () => {
      const r = await rule(condition);
      await steady(10, () => 20);

      const below = await evaluator.evaluate(times(59, () => ev(k1)));
      const above = await evaluator.evaluate([ev(k1)]);

      expect(below).toEqual([]);
      expect(above).toHaveLength(1);
      expect(above[0]).toMatchObject({
        ruleId: r.id,
        keyId: k1.id,
        detail: { type: 'spike', count: 60, baseline: 20, factor: 3, windowSeconds: 60 },
      });
    });

    it('needs the minimum count and history the rule sets', async () => {
      await rule({ ...condition, minCount: 100, minHistoryWindows: 3 });
      await steady(3, () => 5);

      expect(await evaluator.evaluate(times(99, () => ev(k1)))).toEqual([]);
      expect(await evaluator.evaluate([ev(k1)])).toHaveLength(1);
    });

    it('counts quiet windows into the baseline', async () => {
      await rule({ ...condition, minCount: 10 });
      await steady(6, () => 100);
      clock.advance(30 * MINUTE);

      // The baseline decayed over half an hour of silence: 100 now is a spike.
      expect(await evaluator.evaluate(times(100, () => ev(k1)))).toHaveLength(1);
    });
  });

  describe('new_ip', () => {
    const condition: AlertCondition = { type: 'new_ip' };

    it("learns the key's first network without firing", async () => {
      await rule(condition);

      expect(await evaluator.evaluate([ev(k1, { ip: '203.0.113.9' })])).toEqual([]);
      expect(await evaluator.evaluate([ev(k1, { ip: '203.0.113.200' })])).toEqual([]);
    });

    it('fires on the first use from a /24 never seen for the key', async () => {
      const r = await rule(condition);
      await evaluator.evaluate([ev(k1, { ip: '203.0.113.9' })]);

      const fired = await evaluator.evaluate([ev(k1, { ip: '198.51.100.23' })]);

      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        ruleId: r.id,
        keyId: k1.id,
        detail: {
          type: 'new_ip',
          ip: '198.51.100.23',
          network: '198.51.100.0/24',
          networks: ['198.51.100.0/24'],
        },
      });
    });

    it('compares IPv6 addresses by /48', async () => {
      await rule(condition, { cooldownSeconds: 0 });
      await evaluator.evaluate([ev(k1, { ip: '2001:db8:1:1::1' })]);

      expect(await evaluator.evaluate([ev(k1, { ip: '2001:db8:1:ffff::2' })])).toEqual([]);
      expect(await evaluator.evaluate([ev(k1, { ip: '2001:db8:2::1' })])).toHaveLength(1);
    });

    it('keeps networks per key', async () => {
      await rule(condition);
      await evaluator.evaluate([ev(k1, { ip: '203.0.113.9' })]);

      expect(await evaluator.evaluate([ev(k2, { ip: '198.51.100.1' })])).toEqual([]);
    });

    it('names every new network of a batch in one alert', async () => {
      await rule(condition);
      await evaluator.evaluate([ev(k1, { ip: '203.0.113.9' })]);

      const fired = await evaluator.evaluate([
        ev(k1, { ip: '198.51.100.1' }),
        ev(k1, { ip: '192.0.2.1' }),
        ev(k1, { ip: '203.0.113.77' }),
      ]);

      expect(fired).toHaveLength(1);
      expect(fired[0]?.detail.networks).toEqual(['192.0.2.0/24', '198.51.100.0/24']);
    });
  });

  describe('actions', () => {
    const burst = (key: { id: string }) => times(10, () => ev(key));
    const condition: AlertCondition = {
      type: 'threshold',
      metric: 'verifications',
      count: 10,
      windowSeconds: 60,
    };

    it('disable: the key verifies as DISABLED, with an audit entry by the rule', async () => {
      const r = await rule(condition, { actions: ['disable'] });
      expect((await verifier.verify(ctx.principal, { key: k1.key })).code).toBe('VALID');

      const [alert] = await evaluator.evaluate(burst(k1));

      expect((await verifier.verify(ctx.principal, { key: k1.key })).code).toBe('DISABLED');
      expect(alert?.detail.actions).toEqual([{ action: 'disable', outcome: 'done' }]);
      const [entry] = await store.listAudit(WS, { targetId: k1.id, action: 'key.updated', limit: 1 });
      expect(entry).toMatchObject({
        actor: `alert_rule:${r.id}`,
        data: { status: 'disabled', cause: 'alert', alertId: alert?.id, ruleId: r.id },
      });
    });

    it("rotate: a replacement exists, the old key lives out the keyspace's grace period, audit cause alert", async () => {
      const r = await rule(condition, { actions: ['rotate'] });

      const [alert] = await evaluator.evaluate(burst(k1));

      const old = await store.getKey(WS, k1.id);
      expect(old?.replacedBy).toEqual(expect.stringMatching(/^key_/));
      expect(await store.getKey(WS, old?.replacedBy ?? '')).toMatchObject({
        replaces: k1.id,
        status: 'active',
      });
      expect(old?.expiresAt).toBe(clock.now() + 3600 * 1000);
      expect((await verifier.verify(ctx.principal, { key: k1.key })).code).toBe('VALID');
      expect(alert?.detail.actions).toEqual([
        { action: 'rotate', outcome: 'done', newKeyId: old?.replacedBy, gracePeriodSeconds: 3600 },
      ]);
      const [entry] = await store.listAudit(WS, { targetId: k1.id, action: 'key.rotated', limit: 1 });
      expect(entry).toMatchObject({
        actor: `alert_rule:${r.id}`,
        data: { cause: 'alert', gracePeriodSeconds: 3600 },
      });
    });

    it('rotate and disable: a replacement, and the old key stops at once', async () => {
      await rule(condition, { actions: ['rotate', 'disable'] });

      await evaluator.evaluate(burst(k1));

      expect((await store.getKey(WS, k1.id))?.replacedBy).not.toBeNull();
      expect((await verifier.verify(ctx.principal, { key: k1.key })).code).toBe('DISABLED');
    });

    it('notify: records alert.fired in the outbox with the alert, and no key material', async () => {
      const r = await rule(condition, { actions: ['notify', 'disable'] });

      const [alert] = await evaluator.evaluate(burst(k1));

      const events = await store.listEvents(WS, { type: 'alert.fired', limit: 10 });
      expect(events).toHaveLength(1);
      expect(events[0]?.data).toEqual({
        alertId: alert?.id,
        ruleId: r.id,
        ruleName: r.name,
        keyId: k1.id,
        at: new Date(clock.now()).toISOString(),
        detail: alert?.detail,
      });
      const stored = await store.getKey(WS, k1.id);
      const text = JSON.stringify([events, await alerts()]);
      expect(text).not.toContain(k1.key);
      expect(text).not.toContain(k1.key.slice(3, 20));
      expect(text).not.toContain(stored?.hash);
    });

    it('without notify records the alert but no outbox event', async () => {
      await rule(condition, { actions: [] });

      expect(await evaluator.evaluate(burst(k1))).toHaveLength(1);
      expect(await store.listEvents(WS, { type: 'alert.fired', limit: 10 })).toEqual([]);
    });

    it('reports an action that found nothing to do instead of failing the alert', async () => {
      await rule(condition, { actions: ['rotate', 'disable'] });
      await keys.revoke(ctx, k1.id, 'gone');

      const [alert] = await evaluator.evaluate(burst(k1));

      expect(alert?.detail.actions).toEqual([
        { action: 'rotate', outcome: 'skipped', reason: 'revoked' },
        { action: 'disable', outcome: 'skipped', reason: 'revoked' },
      ]);
    });
  });

  describe('cool-down', () => {
    const condition: AlertCondition = {
      type: 'threshold',
      metric: 'verifications',
      count: 10,
      windowSeconds: 60,
    };

    it('suppresses re-firing of the same rule and key for the cool-down, then fires again', async () => {
      await rule(condition, { cooldownSeconds: 600 });
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toHaveLength(1);

      clock.advance(60_000);
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toEqual([]);
      clock.advance(539_999);
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toEqual([]);
      clock.advance(1);
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toHaveLength(1);
    });

    it('keeps cool-downs per key', async () => {
      await rule(condition);
      await evaluator.evaluate(times(10, () => ev(k1)));

      expect(await evaluator.evaluate(times(10, () => ev(k2)))).toHaveLength(1);
    });

    it('defaults to an hour', async () => {
      const r = await rule(condition);
      await evaluator.evaluate(times(10, () => ev(k1)));

      clock.advance(3600_000 - 1);
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toEqual([]);
      clock.advance(1);
      expect(await evaluator.evaluate(times(10, () => ev(k1)))).toHaveLength(1);
      expect(r.cooldownSeconds).toBe(3600);
    });

    it('acts once per firing: a later batch during the cool-down rotates nothing', async () => {
      await rule(condition, { actions: ['rotate'] });

      await evaluator.evaluate(times(10, () => ev(k1)));
      await evaluator.evaluate(times(10, () => ev(k1)));

      expect(await store.listAudit(WS, { action: 'key.rotated', limit: 10 })).toHaveLength(1);
    });
  });

  describe('several nodes sharing one store', () => {
    const condition: AlertCondition = {
      type: 'threshold',
      metric: 'verifications',
      count: 10,
      windowSeconds: 60,
    };
    let other: AlertEvaluator;
    beforeEach(() => {
      other = new AlertEvaluator(store, keys, clock, secureRandom);
    });

    it('fires once for a threshold only their combined traffic crosses', async () => {
      await rule(condition, { actions: ['notify', 'rotate'] });

      const fired = await Promise.all([
        evaluator.evaluate(times(6, () => ev(k1))),
        other.evaluate(times(5, () => ev(k1))),
      ]);

      expect(fired.flat()).toHaveLength(1);
      expect(await alerts()).toHaveLength(1);
      expect(await store.listAudit(WS, { action: 'key.rotated', limit: 10 })).toHaveLength(1);
      expect(await store.listEvents(WS, { type: 'alert.fired', limit: 10 })).toHaveLength(1);
    });

    it('fires once when each crosses the threshold on its own at the same time', async () => {
      await rule(condition);

      const fired = await Promise.all([
        evaluator.evaluate(times(12, () => ev(k1))),
        other.evaluate(times(12, () => ev(k1))),
      ]);

      expect(fired.flat()).toHaveLength(1);
    });

    it('fires once for a new network both see', async () => {
      await rule({ type: 'new_ip' });
      await evaluator.evaluate([ev(k1, { ip: '203.0.113.9' })]);

      const fired = await Promise.all([
        evaluator.evaluate([ev(k1, { ip: '198.51.100.1' })]),
        other.evaluate([ev(k1, { ip: '198.51.100.2' })]),
      ]);

      expect(fired.flat()).toHaveLength(1);
    });

    it("builds one spike baseline from both nodes' traffic", async () => {
      await rule({ type: 'spike', factor: 3, windowSeconds: 60 });
      for (let i = 0; i < 8; i++) {
        await Promise.all([
          evaluator.evaluate(times(10, () => ev(k1))),
          other.evaluate(times(10, () => ev(k1))),
        ]);
        clock.advance(MINUTE);
      }

      // 20 a minute together: 40 from each node is 80, which is 4× the shared baseline.
      const fired = await Promise.all([
        evaluator.evaluate(times(40, () => ev(k1))),
        other.evaluate(times(40, () => ev(k1))),
      ]);

      expect(fired.flat()).toHaveLength(1);
      expect(fired.flat()[0]?.detail).toMatchObject({ baseline: 20 });
    });
  });

  describe('the feed', () => {
    it('evaluates flushed batches in order and drains on idle()', async () => {
      await rule({ type: 'threshold', metric: 'verifications', count: 10, windowSeconds: 60 });
      const listeners: ((batch: UsageColumns) => void)[] = [];
      evaluator.attach({ onFlushed: (l) => listeners.push(l) });
      const seen: string[] = [];
      evaluator.onFired((a) => seen.push(a.id));

      for (const l of listeners) l(UsageColumns.of(times(5, () => ev(k1))));
      for (const l of listeners) l(UsageColumns.of(times(5, () => ev(k1))));
      await evaluator.idle();

      expect(seen).toEqual((await alerts()).map((a) => a.id));
      expect(seen).toHaveLength(1);
    });

    it('builds a batch’s event objects only for a workspace with enabled rules', async () => {
      const quiet = UsageColumns.of(times(20, () => ev(k1, { workspaceId: OTHER_WS })));
      const built = vi.spyOn(quiet, 'events');
      expect(await evaluator.evaluate(quiet)).toEqual([]);
      expect(built).not.toHaveBeenCalled();

      await rule({ type: 'threshold', metric: 'verifications', count: 10, windowSeconds: 60 });
      const mixed = UsageColumns.of([
        ...times(20, () => ev(k1, { workspaceId: OTHER_WS })),
        ...times(10, () => ev(k1)),
      ]);
      const fired = await evaluator.evaluate(mixed);

      // Only this workspace's ten events count, though the other's came first.
      expect(fired).toHaveLength(1);
      expect(fired[0]?.detail).toMatchObject({ type: 'threshold', count: 10 });
    });

    it('reports a failed evaluation and keeps going', async () => {
      await rule({ type: 'threshold', metric: 'verifications', count: 1, windowSeconds: 60 });
      const errors: unknown[] = [];
      evaluator.onError((e) => errors.push(e));
      const original = store.listEnabledAlertRules;
      store.listEnabledAlertRules = async () => {
        throw new Error('store down');
      };
      evaluator.enqueue([ev(k1)]);
      await evaluator.idle();
      store.listEnabledAlertRules = original;

      evaluator.enqueue([ev(k1)]);
      await evaluator.idle();

      expect(errors).toHaveLength(1);
      expect(await alerts()).toHaveLength(1);
    });
  });
});
