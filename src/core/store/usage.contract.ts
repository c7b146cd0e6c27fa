import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyRecord } from './records.js';
import { type Store, UniqueViolation } from './store.js';
import { keyspaceRecord } from './testing/keyspace-record.js';
import { usageEventRecord as event } from './testing/usage-event-record.js';
import type { UsageCount, UsageEventRecord } from './usage-store.js';

const WS = 'ws_aaaaaaaaaaaa';
const OTHER = 'ws_bbbbbbbbbbbb';
const KS = 'ks_111111111111';
const KEY = 'key_111111111111';
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 15);

/**
 * The usage part of the store contract, run against every store (memory, SQLite, PostgreSQL).
 * Each test gets a fresh store with two workspaces and one key.
 */
export function describeUsageStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`usage store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
      await store.insertWorkspace({ id: OTHER, name: 'two', createdAt: 2 });
      await store.insertKeyspace(keyspaceRecord(KS, WS));
      await store.insertKey(key(KEY), null);
    });
    afterEach(async () => store.close());

    const key = (id: string): KeyRecord => ({
      id,
      workspaceId: WS,
      keyspaceId: KS,
      hash: `hash-${id}`,
      start: 'kw_abcd',
      name: null,
      ownerId: null,
      meta: {},
      scopes: [],
      status: 'active',
      expiresAt: null,
      createdAt: 1,
      updatedAt: 1,
      lastUsedAt: null,
      ratelimits: [],
      restrictions: { ips: [], origins: [] },
      replaces: null,
      replacedBy: null,
      lineageId: id,
      revokedAt: null,
      revokeReason: null,
    });
    const count = (bucket: number, code: string, n: number, over: Partial<UsageCount> = {}): UsageCount => ({
      workspaceId: WS,
      keyId: KEY,
      keyspaceId: KS,
      code,
      bucket,
      count: n,
      ...over,
    });

    it('round-trips events and lists one key’s newest first, scoped to its workspace', async () => {
      const stored = [
        event('n0a', T0 + 1),
        event('n0b', T0 + 3, { code: 'RATE_LIMITED', ip: null, origin: null, resource: null }),
        event('n0c', T0 + 2),
        event('n0d', T0 + 4, { keyId: 'key_other0000000' }),
        event('n0e', T0 + 5, { keyId: null, keyspaceId: null, code: 'NOT_FOUND' }),
        event('n0f', T0 + 6, { workspaceId: OTHER }),
      ];
      await store.insertUsageEvents(stored);

      const listed = await store.listUsageEvents(WS, KEY, { limit: 10 });

      expect(listed).toEqual([stored[1], stored[2], stored[0]]);
      expect(await store.listUsageEvents(OTHER, KEY, { limit: 10 })).toEqual([stored[5]]);
    });

    it('pages events by (at, id) without gaps or repeats, ties included', async () => {
      const stored = Array.from({ length: 7 }, (_, i) => event(`n1${i}`, T0 + Math.floor(i / 3)));
      await store.insertUsageEvents(stored);

      const seen: string[] = [];
      let after: { at: number; id: string } | undefined;
      for (;;) {
        const page = await store.listUsageEvents(WS, KEY, { limit: 3, after });
        seen.push(...page.map((e) => e.id));
        const last = page.at(-1);
        if (page.length < 3 || !last) break;
        after = { at: last.at, id: last.id };
      }

      expect(seen).toEqual(['n16', 'n15', 'n14', 'n13', 'n12', 'n11', 'n10']);
    });

    it('pages through events of several overlapping batches (two nodes, big batches) in one order', async () => {
      // Node a: 2,500 events 2 ms apart (more than one block's worth); node b: 30 events
      // interleaved in time, in three calls; ties on `at` between the two nodes.
      const a = Array.from({ length: 2_500 }, (_, i) => event(`a${String(i).padStart(5, '0')}`, T0 + 2 * i));
      const b = Array.from({ length: 30 }, (_, i) => event(`b${String(i).padStart(5, '0')}`, T0 + 170 * i));
      await store.insertUsageEvents(a);
      for (let i = 0; i < 3; i++) await store.insertUsageEvents(b.slice(10 * i, 10 * i + 10));
      const newest = [...a, ...b].sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1)).map((e) => e.id);

      const seen: string[] = [];
      let after: { at: number; id: string } | undefined;
      for (;;) {
        const page = await store.listUsageEvents(WS, KEY, { limit: 97, after });
        seen.push(...page.map((e) => e.id));
        const last = page.at(-1);
        if (page.length < 97 || !last) break;
        after = { at: last.at, id: last.id };
      }

      expect(seen).toEqual(newest);
      const window = await store.usageEventsOfKeys(WS, [KEY], T0 + 1_000, T0 + 4_000, 40);
      expect(window.map((e) => e.id)).toEqual(
        newest
          .slice()
          .reverse()
          .filter((id) => {
            const e = [...a, ...b].find((x) => x.id === id) as UsageEventRecord;
            return e.at >= T0 + 1_000 && e.at < T0 + 4_000;
          })
          .slice(0, 40),
      );
    });

    it('refuses events already stored (a batch stored again), and the transaction keeps none of it', async () => {
      const batch = [event('dup1', T0), event('dup2', T0 + 1)];
      await store.insertUsageEvents(batch);

      await expect(
        store.transaction(async (tx) => {
          await tx.insertUsageEvents([event('new1', T0 + 1, { keyId: 'key_other0000000' }), ...batch]);
          await tx.addUsageCounts('minute', [count(T0, 'VALID', 2)]);
        }),
      ).rejects.toBeInstanceOf(UniqueViolation);

      expect((await store.listUsageEvents(WS, KEY, { limit: 10 })).map((e) => e.id)).toEqual([
        'dup2',
        'dup1',
      ]);
      expect(await store.listUsageEvents(WS, 'key_other0000000', { limit: 10 })).toEqual([]);
      expect(await store.usageSeries(WS, KEY, { granularity: 'minute', from: T0, to: T0 + HOUR })).toEqual(
        [],
      );
    });

    it('adds counts to existing rollup rows instead of replacing them', async () => {
      await store.addUsageCounts('minute', [count(T0, 'VALID', 3), count(T0, 'REVOKED', 1)]);
      await store.addUsageCounts('minute', [count(T0, 'VALID', 4), count(T0 + MINUTE, 'VALID', 1)]);

      expect(await store.usageSeries(WS, KEY, { granularity: 'minute', from: T0, to: T0 + HOUR })).toEqual([
        { t: T0, code: 'REVOKED', count: 1 },
        { t: T0, code: 'VALID', count: 7 },
        { t: T0 + MINUTE, code: 'VALID', count: 1 },
      ]);
    });

    it('sums buckets in [from, to) of one key in its workspace only', async () => {
      await store.addUsageCounts('minute', [
        count(T0 - MINUTE, 'VALID', 100),
        count(T0, 'VALID', 1),
        count(T0 + 2 * MINUTE, 'VALID', 2),
        count(T0 + 3 * MINUTE, 'VALID', 100),
        count(T0, 'VALID', 100, { keyId: 'key_other0000000' }),
      ]);

      expect(
        await store.usageSeries(WS, KEY, { granularity: 'minute', from: T0, to: T0 + 3 * MINUTE }),
      ).toEqual([
        { t: T0, code: 'VALID', count: 1 },
        { t: T0 + 2 * MINUTE, code: 'VALID', count: 2 },
      ]);
      expect(await store.usageSeries(OTHER, KEY, { granularity: 'minute', from: T0, to: T0 + HOUR })).toEqual(
        [],
      );
    });

    it('serves hours from the hour table and sums a UTC day from its hours', async () => {
      await store.addUsageCounts('hour', [
        count(T0, 'VALID', 1),
        count(T0 + 5 * HOUR, 'VALID', 2),
        count(T0 + 23 * HOUR, 'EXPIRED', 3),
        count(T0 + DAY, 'VALID', 4),
      ]);
      await store.addUsageCounts('minute', [count(T0, 'VALID', 1000)]);

      expect(await store.usageSeries(WS, KEY, { granularity: 'hour', from: T0, to: T0 + DAY })).toEqual([
        { t: T0, code: 'VALID', count: 1 },
        { t: T0 + 5 * HOUR, code: 'VALID', count: 2 },
        { t: T0 + 23 * HOUR, code: 'EXPIRED', count: 3 },
      ]);
      expect(await store.usageSeries(WS, KEY, { granularity: 'day', from: T0, to: T0 + 2 * DAY })).toEqual([
        { t: T0, code: 'EXPIRED', count: 3 },
        { t: T0, code: 'VALID', count: 3 },
        { t: T0 + DAY, code: 'VALID', count: 4 },
      ]);
    });

    it('raises lastUsedAt, never lowers it, and skips keys that do not exist', async () => {
      await store.touchKeysLastUsed([
        { keyId: KEY, at: T0 + 10 },
        { keyId: 'key_gone00000000', at: T0 },
      ]);
      await store.touchKeysLastUsed([{ keyId: KEY, at: T0 + 5 }]);

      expect((await store.getKey(WS, KEY))?.lastUsedAt).toBe(T0 + 10);

      await store.touchKeysLastUsed([{ keyId: KEY, at: T0 + 20 }]);
      expect((await store.getKey(WS, KEY))?.lastUsedAt).toBe(T0 + 20);
    });

    it('touches many keys in one call', async () => {
      const ids = Array.from({ length: 450 }, (_, i) => `key_many${String(i).padStart(8, '0')}`);
      for (const id of ids) await store.insertKey(key(id), null);

      await store.touchKeysLastUsed(ids.map((keyId, i) => ({ keyId, at: T0 + i })));

      const got = await Promise.all(ids.map(async (id) => (await store.getKey(WS, id))?.lastUsedAt));
      expect(got).toEqual(ids.map((_, i) => T0 + i));
    });

    it('stores a batch larger than one statement', async () => {
      const many = Array.from({ length: 1200 }, (_, i) => event(`big${String(i).padStart(5, '0')}`, T0 + i));
      const counts = Array.from({ length: 1200 }, (_, i) => count(T0 + i * MINUTE, 'VALID', 1));

      await store.transaction(async (tx) => {
        await tx.insertUsageEvents(many);
        await tx.addUsageCounts('minute', counts);
      });

      expect(await store.listUsageEvents(WS, KEY, { limit: 1 })).toEqual([many[1199]]);
      const series = await store.usageSeries(WS, KEY, { granularity: 'minute', from: T0, to: T0 + DAY });
      expect(series).toHaveLength(1200);
    });

    it('purges raw events older than the cutoff in bounded chunks, idempotently', async () => {
      await store.insertUsageEvents([
        ...Array.from({ length: 5 }, (_, i) => event(`old${i}`, T0 - DAY + i)),
        event('keep1', T0),
        event('keep2', T0 + 1),
      ]);

      expect(await store.purgeUsageEvents(T0, 3)).toBe(3);
      expect(await store.purgeUsageEvents(T0, 3)).toBe(2);
      expect(await store.purgeUsageEvents(T0, 3)).toBe(0);

      expect((await store.listUsageEvents(WS, KEY, { limit: 10 })).map((e) => e.id)).toEqual([
        'keep2',
        'keep1',
      ]);
    });

    it('purges rollup rows of one table older than the cutoff in bounded chunks', async () => {
      const rows = [
        count(T0 - 3 * HOUR, 'VALID', 1),
        count(T0 - 2 * HOUR, 'VALID', 1),
        count(T0, 'VALID', 1),
      ];
      await store.addUsageCounts('minute', rows);
      await store.addUsageCounts('hour', rows);

      expect(await store.purgeUsageCounts('minute', T0, 1)).toBe(1);
      expect(await store.purgeUsageCounts('minute', T0, 5)).toBe(1);
      expect(await store.purgeUsageCounts('minute', T0, 5)).toBe(0);

      const range = { from: T0 - DAY, to: T0 + DAY };
      expect(await store.usageSeries(WS, KEY, { granularity: 'minute', ...range })).toEqual([
        { t: T0, code: 'VALID', count: 1 },
      ]);
      expect(await store.usageSeries(WS, KEY, { granularity: 'hour', ...range })).toHaveLength(3);
    });
  });
}
