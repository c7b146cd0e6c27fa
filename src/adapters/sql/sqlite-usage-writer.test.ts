import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../core/clock/index.js';
import { MemoryStore, type Store, UniqueViolation } from '../../core/store/index.js';
import { keyRecord } from '../../core/store/testing/key-record.js';
import { keyspaceRecord } from '../../core/store/testing/keyspace-record.js';
import {
  ManualTimers,
  StoreUsageWriter,
  type UsageBatchWriter,
  UsageColumns,
  type UsageEvent,
  UsageRecorder,
  type UsageRecorderOptions,
} from '../../core/usage/index.js';
import type { SqlStore } from './sql-store.js';
import { openSqliteStore } from './sqlite.js';
import { openSqliteUsageWriter, SqliteUsageWriter } from './sqlite-usage-writer.js';

const WS = 'ws_aaaaaaaaaaaa';
const KS = 'ks_111111111111';
const KEY_A = 'key_aaaaaaaaaaaa';
const KEY_B = 'key_bbbbbbbbbbbb';
const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const HOUR = 3_600_000;
/** Every recorder of these tests tags its ids alike, so two stores' rows can be compared. */
const fixedRandom = (n: number) => Buffer.alloc(n, 7);

async function seed(store: Store): Promise<void> {
  await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
  await store.insertKeyspace(keyspaceRecord(KS, WS));
  await store.insertKey(keyRecord(KEY_A, { workspaceId: WS, keyspaceId: KS }), null);
  await store.insertKey(keyRecord(KEY_B, { workspaceId: WS, keyspaceId: KS }), null);
}

function event(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: T0 + i * 1_000,
    keyId: i % 3 === 0 ? KEY_B : KEY_A,
    keyspaceId: KS,
    workspaceId: WS,
    code: i % 7 === 0 ? 'RATE_LIMITED' : 'VALID',
    ip: i % 2 === 0 ? '198.51.100.4' : null,
    origin: i % 5 === 0 ? 'https://app.example.com' : null,
    resource: `/orders/${i % 4}`,
    latencyUs: i,
    ...over,
  };
}

function recorder(writer: UsageBatchWriter, options: Partial<UsageRecorderOptions> = {}) {
  const failures: { attempt: number; willRetry: boolean; err: unknown }[] = [];
  const r = new UsageRecorder(
    writer,
    new ManualClock(T0),
    { batchSize: 1_000, ...options },
    { onFlushFailed: (err, info) => failures.push({ ...info, err }) },
    new ManualTimers(),
    fixedRandom,
  );
  return { r, failures };
}

describe('SqliteUsageWriter: usage writes on a thread of their own', () => {
  let dir: string;
  let file: string;
  let store: SqlStore;
  let workers: Worker[];
  let writer: SqliteUsageWriter;
  /** Starts the real thread, keeping a handle on it. */
  const spawn = (source: string, options: WorkerOptions) => {
    const w = new Worker(source, options);
    workers.push(w);
    return w;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-usage-writer-'));
    file = join(dir, 'keyward.db');
    store = await openSqliteStore(file);
    await seed(store);
    workers = [];
    writer = new SqliteUsageWriter(file, { spawn });
  });
  afterEach(async () => {
    await writer.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const allEvents = (s: Store, keyId: string) => s.listUsageEvents(WS, keyId, { limit: 10_000 });
  const series = (s: Store, keyId: string, granularity: 'minute' | 'hour') =>
    s.usageSeries(WS, keyId, { granularity, from: T0 - HOUR, to: T0 + 12 * HOUR });

  it.skipIf(process.platform !== 'linux')(
    'writes at nice 10, below the threads that answer verifications, which keep their priority',
    async () => {
      // Field 19 of /proc/<pid>/task/<tid>/stat is the task's nice value.
      const nices = () =>
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
        });
      const before = nices().filter((n) => n === 10).length;
      const { r } = recorder(writer);
      r.record(event(0));
      expect(await r.flush()).toBe(true);
      expect(nices().filter((n) => n === 10)).toHaveLength(before + 1);
      expect(getPriority()).toBe(0);
    },
  );

  it('stores exactly what the store’s own transaction stores, from one thread started on demand', async () => {
    const memory = new MemoryStore();
    await seed(memory);
    const viaThread = recorder(writer).r;
    const inThread = recorder(new StoreUsageWriter(memory)).r;
    expect(workers).toHaveLength(0);
    for (let i = 0; i < 2_500; i++) {
      const e = event(i, i % 11 === 0 ? { keyId: null, keyspaceId: null, code: 'NOT_FOUND' } : {});
      viaThread.record(e);
      inThread.record(e);
    }

    expect(await viaThread.flush()).toBe(true);
    await inThread.flush();

    expect(workers).toHaveLength(1);
    expect(viaThread.stored).toBe(2_500);
    for (const keyId of [KEY_A, KEY_B]) {
      expect(await allEvents(store, keyId)).toEqual(await allEvents(memory, keyId));
      expect(await series(store, keyId, 'minute')).toEqual(await series(memory, keyId, 'minute'));
      expect(await series(store, keyId, 'hour')).toEqual(await series(memory, keyId, 'hour'));
      expect((await store.getKey(WS, keyId))?.lastUsedAt).toBe((await memory.getKey(WS, keyId))?.lastUsedAt);
    }
    const db = new BetterSqlite3(file, { readonly: true });
    const unknown = db.prepare('select sum(count) as n from usage_event_blocks where key_id is null').get();
    db.close();
    expect(unknown).toEqual({ n: 228 });
  });

  it('refuses a batch that is already stored as a UniqueViolation, so a retry never counts twice', async () => {
    const batch = {
      events: UsageColumns.of([event(1)]),
      node: 'retrytag',
      firstSeq: 1,
      minute: [{ workspaceId: WS, keyId: KEY_A, keyspaceId: KS, code: 'VALID', bucket: T0, count: 1 }],
      hour: [{ workspaceId: WS, keyId: KEY_A, keyspaceId: KS, code: 'VALID', bucket: T0, count: 1 }],
      uses: [{ keyId: KEY_A, at: T0 + 1_000 }],
    };
    await writer.write(batch);

    await expect(writer.write(batch)).rejects.toBeInstanceOf(UniqueViolation);

    expect(await series(store, KEY_A, 'minute')).toEqual([{ t: T0, code: 'VALID', count: 1 }]);
  });

  it('lets the main connection read then write in transactions while the thread flushes, without SQLITE_BUSY', async () => {
    const { r, failures } = recorder(writer);
    let updates = 0;
    const errors: unknown[] = [];
    let writing = true;
    // Management writes on the main connection: each reads, lets the thread run, then writes.
    const manage = (async () => {
      while (writing) {
        try {
          await store.transaction(async (tx) => {
            const key = await tx.getKey(WS, KEY_A);
            await new Promise((resolve) => setImmediate(resolve));
            await tx.updateKey(WS, KEY_A, { name: `n${updates}`, updatedAt: (key?.updatedAt ?? 0) + 1 });
          });
          updates++;
        } catch (err) {
          errors.push(err);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    // At least 30 batches, and on until the main connection has written 30 times among them
    // (how many fit in 30 batches depends on the machine's speed; the cap only ends a hung run).
    let batches = 0;
    while ((batches < 30 || updates < 30) && batches < 2_000) {
      for (let i = 0; i < 1_000; i++) r.record(event(i));
      await vi.waitFor(() => expect(r.depth).toBeLessThan(2_000), { timeout: 10_000, interval: 1 });
      batches++;
    }
    const updatesWhileFlushing = updates;
    expect(await r.flush()).toBe(true);
    writing = false;
    await manage;

    expect(errors).toEqual([]);
    expect(failures).toEqual([]);
    expect(updatesWhileFlushing).toBeGreaterThanOrEqual(30);
    expect((await store.getKey(WS, KEY_A))?.updatedAt).toBe(100 + updates);
    expect(r.stored).toBe(batches * 1_000);
    const total = async (keyId: string) =>
      (await series(store, keyId, 'hour')).reduce((n, p) => n + p.count, 0);
    expect((await total(KEY_A)) + (await total(KEY_B))).toBe(batches * 1_000);
  });

  it('loses nothing when the thread dies in the middle of a batch: the batch is retried on a new thread', async () => {
    const N = 30_000;
    const { r, failures } = recorder(writer, { batchSize: N });
    const probe = new BetterSqlite3(file);
    probe.pragma('busy_timeout = 0');
    /** Whether another connection holds the write lock: the thread is inside its transaction. */
    const threadWriting = () => {
      try {
        probe.exec('begin immediate');
        probe.exec('rollback');
        return false;
      } catch {
        return true;
      }
    };
    for (let i = 0; i < N; i++) r.record(event(i));

    const first = r.flush();
    await vi.waitFor(() => expect(workers.length === 1 && threadWriting()).toBe(true), {
      timeout: 10_000,
      interval: 1,
    });
    await workers[0]?.terminate();

    expect(await first).toBe(false);
    expect(await r.flush()).toBe(true);

    expect(failures.map((f) => [f.attempt, f.willRetry])).toEqual([[1, true]]);
    expect(String(failures[0]?.err)).toMatch(/usage writer thread exited/);
    expect(workers).toHaveLength(2);
    expect({ stored: r.stored, dropped: r.dropped, depth: r.depth }).toEqual({
      stored: N,
      dropped: 0,
      depth: 0,
    });
    const total = async (keyId: string) =>
      (await series(store, keyId, 'hour')).reduce((n, p) => n + p.count, 0);
    expect((await total(KEY_A)) + (await total(KEY_B))).toBe(N);
    expect(probe.prepare('select sum(count) as n from usage_event_blocks').get()).toEqual({ n: N });
    probe.close();
  });

  it('ends its thread on close, after which a write is refused', async () => {
    await writer.write({
      events: UsageColumns.of([event(1)]),
      node: 'closetag',
      firstSeq: 1,
      minute: [],
      hour: [],
      uses: [],
    });
    const exited = new Promise((resolve) => workers[0]?.once('exit', resolve));

    await writer.close();

    expect(await exited).toBe(0);
    await expect(
      writer.write({
        events: UsageColumns.of([event(2)]),
        node: 'closetag',
        firstSeq: 2,
        minute: [],
        hour: [],
        uses: [],
      }),
    ).rejects.toThrow(/closed/);
  });
});

describe('openSqliteUsageWriter', () => {
  it('writes in the store’s own transactions for a database in memory, which no thread could open', async () => {
    const store = await openSqliteStore(':memory:');
    await seed(store);
    const writer = openSqliteUsageWriter(':memory:', store);
    const { r } = recorder(writer);
    r.record(event(1));

    expect(await r.flush()).toBe(true);

    expect(writer).toBeInstanceOf(StoreUsageWriter);
    expect(await store.listUsageEvents(WS, KEY_A, { limit: 10 })).toHaveLength(1);
    await store.close();
  });
});
