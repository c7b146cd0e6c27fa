import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock/index.js';
import {
  type KeyRecord,
  MemoryStore,
  type StoreOps,
  StoreUnavailable,
  type UsageEventRecord,
} from '../store/index.js';
import { ManualTimers } from './timers.js';
import { StoreUsageWriter } from './usage-batch.js';
import type { UsageEvent } from './usage-event.js';
import { type DropReason, UsageRecorder, type UsageRecorderOptions } from './usage-recorder.js';

const WS = 'ws_test00000000';
const KS = 'ks_test00000000';
const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A memory store whose transactions fail on demand, the way an unreachable database does. */
class FlakyStore extends MemoryStore {
  transactions = 0;
  /** Throws this before running the transaction. */
  failWith: Error | null = null;
  /** Commits the next transaction, then throws as if the answer to COMMIT was lost. */
  loseNextCommit = false;

  override async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    this.transactions++;
    if (this.failWith) throw this.failWith;
    const result = await super.transaction(fn);
    if (this.loseNextCommit) {
      this.loseNextCommit = false;
      throw new StoreUnavailable(new Error('Connection terminated'));
    }
    return result;
  }
}

function keyRecord(id: string): KeyRecord {
  return {
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
    createdAt: 0,
    updatedAt: 0,
    lastUsedAt: null,
    ratelimits: [],
    restrictions: { ips: [], origins: [] },
    replaces: null,
    replacedBy: null,
    lineageId: id,
    revokedAt: null,
    revokeReason: null,
  };
}

/** Lets every pending promise callback run (the recorder's drain is asynchronous). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

function event(over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: T0,
    keyId: 'key_a0000000000',
    keyspaceId: KS,
    workspaceId: WS,
    code: 'VALID',
    ip: '198.51.100.4',
    origin: null,
    resource: '/orders',
    latencyUs: 80,
    ...over,
  };
}

describe('UsageRecorder', () => {
  let store: FlakyStore;
  let clock: ManualClock;
  let timers: ManualTimers;
  let drops: { count: number; reason: DropReason }[];
  let failures: { attempt: number; willRetry: boolean }[];

  beforeEach(async () => {
    store = new FlakyStore();
    clock = new ManualClock(T0);
    timers = new ManualTimers();
    drops = [];
    failures = [];
    await store.insertKey(keyRecord('key_a0000000000'), null);
    await store.insertKey(keyRecord('key_b0000000000'), null);
  });

  const recorder = (options: Partial<UsageRecorderOptions> = {}) => {
    const r = new UsageRecorder(
      new StoreUsageWriter(store),
      clock,
      { batchSize: 100, closeAttempts: 3, ...options },
      {
        onDropped: (count, reason) => drops.push({ count, reason }),
        onFlushFailed: (_err, info) => failures.push({ attempt: info.attempt, willRetry: info.willRetry }),
      },
      timers,
    );
    r.start();
    return r;
  };
  const series = (keyId: string, granularity: 'minute' | 'hour' = 'minute') =>
    store.usageSeries(WS, keyId, { granularity, from: T0 - HOUR, to: T0 + 2 * HOUR });
  const allEvents = async (keyId = 'key_a0000000000') => store.listUsageEvents(WS, keyId, { limit: 10_000 });

  it('writes raw events, minute and hour counts and lastUsedAt in one transaction', async () => {
    const r = recorder();
    r.record(event({ at: T0 + 1_000 }));
    r.record(event({ at: T0 + 2_000, code: 'RATE_LIMITED' }));
    r.record(event({ at: T0 + MINUTE + 5 }));
    r.record(event({ at: T0 + 500, keyId: 'key_b0000000000' }));

    expect(await r.flush()).toBe(true);

    expect(store.transactions).toBe(1);
    expect((await allEvents()).map((e) => e.at)).toEqual([T0 + MINUTE + 5, T0 + 2_000, T0 + 1_000]);
    expect(await series('key_a0000000000')).toEqual([
      { t: T0, code: 'RATE_LIMITED', count: 1 },
      { t: T0, code: 'VALID', count: 1 },
      { t: T0 + MINUTE, code: 'VALID', count: 1 },
    ]);
    expect(await series('key_a0000000000', 'hour')).toEqual([
      { t: T0, code: 'RATE_LIMITED', count: 1 },
      { t: T0, code: 'VALID', count: 2 },
    ]);
    expect((await store.getKey(WS, 'key_a0000000000'))?.lastUsedAt).toBe(T0 + MINUTE + 5);
    expect((await store.getKey(WS, 'key_b0000000000'))?.lastUsedAt).toBe(T0 + 500);
    expect({ depth: r.depth, stored: r.stored, dropped: r.dropped }).toEqual({
      depth: 0,
      stored: 4,
      dropped: 0,
    });
  });

  it('stores events of unknown keys raw, without counting them for any key', async () => {
    const r = recorder();
    r.record(event({ keyId: null, keyspaceId: null, code: 'NOT_FOUND' }));

    await r.flush();

    expect(r.stored).toBe(1);
    expect(await series('key_a0000000000')).toEqual([]);
    expect((await store.getKey(WS, 'key_a0000000000'))?.lastUsedAt).toBeNull();
  });

  it('writes a full batch at once, without waiting for the timer', async () => {
    const r = recorder({ batchSize: 10 });
    for (let i = 0; i < 25; i++) r.record(event({ at: T0 + i }));

    await vi.waitFor(() => expect(r.stored).toBe(20));

    expect(store.transactions).toBe(2);
    expect(r.depth).toBe(5);
  });

  it('writes a partial batch when the timer fires', async () => {
    const r = recorder();
    r.record(event());
    r.record(event());

    timers.tick();

    await vi.waitFor(() => expect(r.stored).toBe(2));
    expect(await allEvents()).toHaveLength(2);
  });

  it('gives every event a unique id that orders one node’s events of one millisecond', async () => {
    const r = recorder();
    for (let i = 0; i < 300; i++) r.record(event());

    await r.flush();

    const ids = (await allEvents()).map((e) => e.id);
    expect(new Set(ids).size).toBe(300);
    expect(ids).toEqual([...ids].sort().reverse());
  });

  it('hands on every field of every event as recorded, across full and partial batches', async () => {
    const r = recorder({ batchSize: 2 });
    const seen: UsageEvent[] = [];
    r.onFlushed((batch) => seen.push(...batch.events()));
    const recorded = [
      event(),
      event({ keyId: null, keyspaceId: null, code: 'NOT_FOUND', ip: null, resource: null }),
      event({ at: T0 + 1, origin: 'https://app.example.com', latencyUs: 0, code: 'RATE_LIMITED' }),
    ];
    for (const e of recorded) r.record({ ...e });

    await r.flush();

    expect(seen).toEqual(recorded);
  });

  it('tells feed listeners about each batch once it is committed', async () => {
    const r = recorder();
    const seen: (readonly UsageEvent[])[] = [];
    r.onFlushed((batch) => seen.push(batch.events()));
    r.onFlushed(() => {
      throw new Error('a broken listener');
    });
    r.record(event({ resource: '/a' }));
    r.record(event({ resource: '/b' }));

    await r.flush();

    expect(seen.map((b) => b.map((e) => e.resource))).toEqual([['/a', '/b']]);
  });

  it('keeps the events of a failed flush and retries them with backoff, dropping none', async () => {
    const r = recorder();
    const seen: number[] = [];
    r.onFlushed((batch) => seen.push(batch.length));
    store.failWith = new StoreUnavailable(new Error('ECONNREFUSED'));
    for (let i = 0; i < 5; i++) r.record(event({ at: T0 + i }));

    timers.tick();
    await vi.waitFor(() => expect(failures).toHaveLength(1));
    timers.tick(); // before the 1 s backoff: no attempt
    await settled();
    clock.advance(1_000);
    timers.tick();
    await vi.waitFor(() => expect(failures).toHaveLength(2));
    clock.advance(1_000);
    timers.tick(); // before the 2 s backoff of the second failure: no attempt
    await settled();
    store.failWith = null;
    clock.advance(1_000);
    timers.tick();
    await vi.waitFor(() => expect(r.stored).toBe(5));

    expect(store.transactions).toBe(3);
    expect(failures).toEqual([
      { attempt: 1, willRetry: true },
      { attempt: 2, willRetry: true },
    ]);
    expect({ depth: r.depth, dropped: r.dropped, flushFailures: r.flushFailures }).toEqual({
      depth: 0,
      dropped: 0,
      flushFailures: 2,
    });
    expect(await series('key_a0000000000')).toEqual([{ t: T0, code: 'VALID', count: 5 }]);
    expect(seen).toEqual([5]);
  });

  it('keeps queueing while the store is down and writes everything once it is back', async () => {
    const r = recorder({ batchSize: 10 });
    store.failWith = new StoreUnavailable(new Error('ECONNREFUSED'));
    for (let i = 0; i < 35; i++) r.record(event({ at: T0 + i }));
    await vi.waitFor(() => expect(failures).toHaveLength(1));
    expect(r.depth).toBe(35);

    store.failWith = null;
    expect(await r.flush()).toBe(true);

    expect(r.stored).toBe(35);
    expect(await allEvents()).toHaveLength(35);
  });

  it('does not count or announce a batch twice when the answer to its commit was lost', async () => {
    const r = recorder();
    const seen: number[] = [];
    r.onFlushed((batch) => seen.push(batch.length));
    store.loseNextCommit = true;
    for (let i = 0; i < 3; i++) r.record(event());

    expect(await r.flush()).toBe(false);
    expect(await r.flush()).toBe(true);

    expect(seen).toEqual([3]);
    expect(r.stored).toBe(3);
    expect(await allEvents()).toHaveLength(3);
    expect(await series('key_a0000000000')).toEqual([{ t: T0, code: 'VALID', count: 3 }]);
  });

  it('drops and counts a batch the store refuses for good, after maxAttempts', async () => {
    const r = recorder({ maxAttempts: 3 });
    store.failWith = new Error('value too long for type');
    r.record(event());
    r.record(event());

    for (let i = 0; i < 3; i++) await r.flush();

    expect(failures.map((f) => f.willRetry)).toEqual([true, true, false]);
    expect({ depth: r.depth, dropped: r.dropped, stored: r.stored }).toEqual({
      depth: 0,
      dropped: 2,
      stored: 0,
    });
    expect(drops).toEqual([{ count: 2, reason: 'write_failed' }]);
  });

  it('counts events beyond the queue limit as dropped and reports them on the next tick', async () => {
    const r = recorder({ batchSize: 4, maxQueued: 10 });
    store.failWith = new StoreUnavailable(new Error('ECONNREFUSED'));
    for (let i = 0; i < 15; i++) r.record(event());

    expect({ depth: r.depth, dropped: r.dropped }).toEqual({ depth: 10, dropped: 5 });
    timers.tick();
    expect(drops).toEqual([{ count: 5, reason: 'queue_full' }]);

    store.failWith = null;
    await r.flush();
    expect(r.stored).toBe(10);
    expect(await allEvents()).toHaveLength(10);
  });

  it('flushes everything queued when closed, and counts events recorded afterwards', async () => {
    const r = recorder();
    for (let i = 0; i < 7; i++) r.record(event());

    await r.close();
    r.record(event());

    expect(await allEvents()).toHaveLength(7);
    expect({ stored: r.stored, dropped: r.dropped, depth: r.depth }).toEqual({
      stored: 7,
      dropped: 1,
      depth: 0,
    });
    expect(timers.active).toBe(0);
  });

  it('retries at close while the store is down, then counts what is left as dropped', async () => {
    const r = recorder({ closeAttempts: 3 });
    store.failWith = new StoreUnavailable(new Error('ECONNREFUSED'));
    for (let i = 0; i < 4; i++) r.record(event());

    await r.close();

    expect(store.transactions).toBe(3);
    expect(timers.slept).toEqual([1_000, 2_000]);
    expect(drops).toEqual([{ count: 4, reason: 'shutdown' }]);
    expect({ dropped: r.dropped, depth: r.depth }).toEqual({ dropped: 4, depth: 0 });
  });

  it('never stores key material: an event names the key by id only', async () => {
    const r = recorder();
    r.record(event());
    await r.flush();

    const [stored] = await allEvents();
    const fields: (keyof UsageEventRecord)[] = [
      'at',
      'code',
      'id',
      'ip',
      'keyId',
      'keyspaceId',
      'latencyUs',
      'origin',
      'resource',
      'workspaceId',
    ];
    expect(Object.keys(stored ?? {}).sort()).toEqual(fields.sort());
  });
});
