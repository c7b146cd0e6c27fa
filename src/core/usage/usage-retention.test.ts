import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { MemoryStore, type UsageCount, type UsageEventRecord } from '../store/index.js';
import { ManualTimers } from './timers.js';
import { UsageRetention } from './usage-retention.js';

const WS = 'ws_test00000000';
const KEY = 'key_a0000000000';
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

const event = (id: string, at: number): UsageEventRecord => ({
  id,
  at,
  workspaceId: WS,
  keyId: KEY,
  keyspaceId: 'ks_test00000000',
  code: 'VALID',
  ip: null,
  origin: null,
  resource: null,
  latencyUs: 10,
});
const count = (bucket: number): UsageCount => ({
  workspaceId: WS,
  keyId: KEY,
  keyspaceId: 'ks_test00000000',
  code: 'VALID',
  bucket,
  count: 1,
});

describe('UsageRetention', () => {
  let store: MemoryStore;
  let clock: ManualClock;
  let timers: ManualTimers;

  beforeEach(async () => {
    store = new MemoryStore();
    clock = new ManualClock(NOW);
    timers = new ManualTimers();
    // Ages in days: 45, 31, 29, 1 — with hourly buckets as old as 500 days.
    await store.insertUsageEvents([45, 31, 29, 1].map((d) => event(`e${d}`, NOW - d * DAY)));
    const minuteAges = [45, 31, 29, 1];
    await store.addUsageCounts(
      'minute',
      minuteAges.map((d) => count(NOW - d * DAY)),
    );
    await store.addUsageCounts(
      'hour',
      [500, 401, 399, 1].map((d) => count(NOW - d * DAY)),
    );
  });

  const remaining = async () => ({
    events: (await store.listUsageEvents(WS, KEY, { limit: 100 })).map((e) => e.id),
    minute: (await store.usageSeries(WS, KEY, { granularity: 'minute', from: 0, to: NOW + DAY })).length,
    hour: (await store.usageSeries(WS, KEY, { granularity: 'hour', from: 0, to: NOW + DAY })).length,
  });

  it('deletes raw events and minute counts past the event retention, hour counts past theirs', async () => {
    const retention = new UsageRetention(store, clock, { eventDays: 30, rollupDays: 400, chunk: 1 }, timers);

    const purged = await retention.purge();

    expect(purged).toEqual({ events: 2, minute: 2, hour: 2 });
    expect(await remaining()).toEqual({ events: ['e1', 'e29'], minute: 2, hour: 2 });
    // Chunks of one row, with a pause after each full chunk.
    expect(timers.slept).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('is idempotent: a second purge finds nothing more', async () => {
    const retention = new UsageRetention(store, clock, { eventDays: 30, rollupDays: 400 }, timers);
    await retention.purge();

    expect(await retention.purge()).toEqual({ events: 0, minute: 0, hour: 0 });
  });

  it('follows the clock: what ages past the retention goes on a later run', async () => {
    const retention = new UsageRetention(store, clock, { eventDays: 30, rollupDays: 400 }, timers);
    await retention.purge();

    clock.advance(2 * DAY);

    expect((await retention.purge()).events).toBe(1);
    expect((await remaining()).events).toEqual(['e1']);
  });

  it('keeps everything when both retentions are 0', async () => {
    const retention = new UsageRetention(store, clock, { eventDays: 0, rollupDays: 0 }, timers);

    expect(await retention.purge()).toEqual({ events: 0, minute: 0, hour: 0 });
    expect(await remaining()).toEqual({ events: ['e1', 'e29', 'e31', 'e45'], minute: 4, hour: 4 });
  });

  it('runs once at start and then on every tick of its timer, until stopped', async () => {
    const retention = new UsageRetention(store, clock, { eventDays: 30, rollupDays: 400 }, timers);
    const errors: unknown[] = [];

    retention.start((err) => errors.push(err));
    await retention.purge();
    expect((await remaining()).events).toEqual(['e1', 'e29']);

    clock.advance(2 * DAY);
    timers.tick();
    await retention.purge();
    expect((await remaining()).events).toEqual(['e1']);

    await retention.stop();
    expect(timers.active).toBe(0);
    expect(errors).toEqual([]);
  });
});
