import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { MemoryStore } from '../store/index.js';
import { Scheduler } from './scheduler.js';

function node(store: MemoryStore, clock: ManualClock, nodeId: string, runs: string[]) {
  const scheduler = new Scheduler(store, clock, { nodeId, leaseMs: 10_000, tickMs: 1_000 });
  scheduler.register({ name: 'work', intervalMs: 5_000, run: async () => void runs.push(nodeId) });
  return scheduler;
}

describe('Scheduler', () => {
  it('runs each task on exactly one of several nodes, at its interval', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const runs: string[] = [];
    const a = node(store, clock, 'a', runs);
    const b = node(store, clock, 'b', runs);
    for (let t = 0; t < 20_000; t += 1_000) {
      clock.set(t);
      await Promise.all([a.tick(), b.tick()]);
    }
    expect(runs).toEqual(['a', 'a', 'a', 'a']);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
  });

  it('hands over to another node once the leader stops renewing its lease', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const runs: string[] = [];
    const a = node(store, clock, 'a', runs);
    const b = node(store, clock, 'b', runs);
    await a.tick();
    // a dies without releasing: b waits for the lease to expire, then takes over.
    clock.set(9_000);
    expect(await b.tick()).toBe(false);
    clock.set(10_001);
    expect(await b.tick()).toBe(true);
    expect(runs).toEqual(['a', 'b']);
  });

  it('hands over at once when the leader stops cleanly', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const runs: string[] = [];
    const a = node(store, clock, 'a', runs);
    const b = node(store, clock, 'b', runs);
    await a.tick();
    await a.stop();
    expect(await b.tick()).toBe(true);
  });

  it('keeps running the other tasks when one fails, and reports the failure', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const failures: string[] = [];
    const done: string[] = [];
    const s = new Scheduler(store, clock, {
      nodeId: 'a',
      leaseMs: 10_000,
      tickMs: 1_000,
      onError: (task) => failures.push(task),
    });
    s.register({ name: 'broken', intervalMs: 1, run: async () => Promise.reject(new Error('boom')) });
    s.register({ name: 'fine', intervalMs: 1, run: async () => void done.push('fine') });
    await s.tick();
    expect(failures).toEqual(['broken']);
    expect(done).toEqual(['fine']);
  });
});
