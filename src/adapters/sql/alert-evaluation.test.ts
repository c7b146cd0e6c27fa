import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { AlertEvaluator, AlertRules } from '../../core/alerts/index.js';
import { AuditLog } from '../../core/audit/index.js';
import { InProcessCacheBus } from '../../core/cache-bus/index.js';
import { ManualClock } from '../../core/clock/index.js';
import { secureRandom } from '../../core/crypto/index.js';
import { Keys } from '../../core/keys/index.js';
import { Keyspaces } from '../../core/keyspaces/index.js';
import { type CallContext, PermissionSet } from '../../core/root-keys/index.js';
import type { Store } from '../../core/store/index.js';
import type { UsageEvent } from '../../core/usage/index.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';

const WS = 'ws_alertnodes000';
const ctx: CallContext = {
  principal: { workspaceId: WS, rootKeyId: 'rk_alerts', permissions: new PermissionSet(['*']) },
  ip: null,
};

/** One "node": its own store handle (its own connections), Keys and evaluator, over the shared database. */
function node(store: Store, clock: ManualClock) {
  const audit = new AuditLog(store, clock);
  const keys = new Keys(store, audit, new InProcessCacheBus(), clock, secureRandom);
  return { store, keys, evaluator: new AlertEvaluator(store, keys, clock, secureRandom) };
}

/**
 * Two evaluators on a real engine, as two nodes would run them: each evaluates only its own
 * traffic, and together they must neither miss a threshold nor fire (or act) twice.
 */
function describeTwoNodes(name: string, open: () => Promise<[Store, Store]>) {
  describe(`alert evaluation on two nodes: ${name}`, () => {
    let clock: ManualClock;
    let a: ReturnType<typeof node>;
    let b: ReturnType<typeof node>;
    let rules: AlertRules;
    let keyspaceId: string;
    let keyIds: string[];

    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
      const [sa, sb] = await open();
      await sa.insertWorkspace({ id: WS, name: 'nodes', createdAt: 0 });
      a = node(sa, clock);
      b = node(sb, clock);
      const audit = new AuditLog(sa, clock);
      rules = new AlertRules(sa, audit, clock, secureRandom);
      keyspaceId = (
        await new Keyspaces(sa, audit, clock, secureRandom).create(ctx, {
          name: 'api',
          rotation: { gracePeriodSeconds: 60 },
        })
      ).id;
      keyIds = [];
      for (let i = 0; i < 5; i++) keyIds.push((await a.keys.create(ctx, keyspaceId, {})).record.id);
    });
    afterEach(async () => {
      await a.store.close();
      if (b.store !== a.store) await b.store.close();
    });

    const ev = (keyId: string, over: Partial<UsageEvent> = {}): UsageEvent => ({
      at: clock.now(),
      keyId,
      keyspaceId,
      workspaceId: WS,
      code: 'VALID',
      ip: '203.0.113.9',
      origin: null,
      resource: null,
      latencyUs: 40,
      ...over,
    });
    const times = (n: number, make: () => UsageEvent) => Array.from({ length: n }, make);
    const key0 = () => keyIds[0] ?? '';

    it('fires and rotates once for a threshold only their combined traffic crosses', async () => {
      await rules.create(ctx, {
        name: 'busy',
        condition: { type: 'threshold', metric: 'verifications', count: 10, windowSeconds: 60 },
        actions: ['notify', 'rotate'],
      });

      const fired = await Promise.all([
        a.evaluator.evaluate(times(6, () => ev(key0()))),
        b.evaluator.evaluate(times(5, () => ev(key0()))),
      ]);

      expect(fired.flat()).toHaveLength(1);
      expect(await a.store.listAlerts(WS, { limit: 10 })).toHaveLength(1);
      expect(await a.store.listEvents(WS, { type: 'alert.fired', limit: 10 })).toHaveLength(1);
      expect(await a.store.listAudit(WS, { action: 'key.rotated', limit: 10 })).toHaveLength(1);
    });

    it('fires exactly once per key when both flush many overlapping batches', async () => {
      await rules.create(ctx, {
        name: 'busy',
        condition: { type: 'threshold', metric: 'verifications', count: 25, windowSeconds: 60 },
        actions: ['notify', 'disable'],
      });

      const rounds = Array.from({ length: 8 }, () =>
        Promise.all([
          a.evaluator.evaluate(keyIds.flatMap((id) => times(2, () => ev(id)))),
          b.evaluator.evaluate(keyIds.flatMap((id) => times(2, () => ev(id)))),
        ]),
      );
      await Promise.all(rounds);

      const alerts = await a.store.listAlerts(WS, { limit: 100 });
      expect(alerts.map((x) => x.keyId).sort()).toEqual([...keyIds].sort());
      expect(await a.store.listAudit(WS, { action: 'key.updated', limit: 100 })).toHaveLength(keyIds.length);
    });

    it("keeps one spike baseline from both nodes' traffic", async () => {
      await rules.create(ctx, {
        name: 'spike',
        condition: { type: 'spike', factor: 3, windowSeconds: 60 },
        actions: ['notify'],
      });
      for (let i = 0; i < 8; i++) {
        await Promise.all([
          a.evaluator.evaluate(times(10, () => ev(key0()))),
          b.evaluator.evaluate(times(10, () => ev(key0()))),
        ]);
        clock.advance(60_000);
      }

      const fired = await Promise.all([
        a.evaluator.evaluate(times(40, () => ev(key0()))),
        b.evaluator.evaluate(times(40, () => ev(key0()))),
      ]);

      expect(fired.flat()).toHaveLength(1);
      expect(fired.flat()[0]?.detail).toMatchObject({ type: 'spike', count: 80, baseline: 20 });
    });

    it('fires once for a new network both nodes see at the same time', async () => {
      await rules.create(ctx, { name: 'new ip', condition: { type: 'new_ip' }, actions: ['notify'] });
      await a.evaluator.evaluate([ev(key0(), { ip: '203.0.113.9' })]);

      const fired = await Promise.all([
        a.evaluator.evaluate([ev(key0(), { ip: '198.51.100.1' })]),
        b.evaluator.evaluate([ev(key0(), { ip: '198.51.100.2' })]),
      ]);

      expect(fired.flat()).toHaveLength(1);
    });

    it('fires once for a failure burst split between the nodes', async () => {
      await rules.create(ctx, {
        name: 'enumeration',
        condition: { type: 'failure_burst', count: 30, windowSeconds: 60 },
        actions: ['notify'],
      });
      const unknown = () => ({
        ...ev(key0(), { code: 'NOT_FOUND', ip: '198.51.100.7' }),
        keyId: null,
        keyspaceId: null,
      });

      const fired = await Promise.all([
        a.evaluator.evaluate(times(15, unknown)),
        b.evaluator.evaluate(times(15, unknown)),
      ]);

      expect(fired.flat()).toHaveLength(1);
      expect(fired.flat()[0]).toMatchObject({ keyId: null, detail: { ip: '198.51.100.7', count: 30 } });
    });
  });
}

// SQLite serves one node: both evaluators share the one store (the single writer).
describeTwoNodes('sqlite', async () => {
  const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-alerts-')), 'k.db'));
  return [store, store];
});

const url = postgresUrl();
const schemas: TestSchema[] = [];
describe.skipIf(!url)('PostgreSQL', () => {
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()));
  });
  describeTwoNodes('postgres, one pool per node', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return [
      await openPostgresStore(schema.url, { poolSize: 4 }),
      await openPostgresStore(schema.url, { poolSize: 4 }),
    ];
  });
});
