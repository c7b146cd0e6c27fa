// Benchmark 1: in-process verification of a cached key against the floor
// `crypto.hash('sha256', key) + Map.get(hash)`: the two things a cached verification cannot avoid.
import { hash } from 'node:crypto';
import { createFixture } from './fixture.js';
import { median, threadCpuNs } from './stats.js';

/** Written at the end of each timed loop so the work inside cannot be optimized away. */
export let sink = 0;

/** CPU time (user + system) of this process, in µs: unlike wall time, not inflated by preemption. */
function cpuNow() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function timeFloor(map, key, n) {
  let hits = 0;
  let last;
  const c0 = cpuNow();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const v = map.get(hash('sha256', key));
    if (v !== undefined) {
      hits++;
      last = v;
    }
  }
  const t1 = process.hrtime.bigint();
  const c1 = cpuNow();
  if (hits !== n) throw new Error(`floor: ${hits} hits out of ${n}`);
  sink += last.n;
  return { wall: Number(t1 - t0) / n, cpu: ((c1 - c0) * 1000) / n };
}

async function timeVerify(verifier, principal, key, n) {
  let valid = 0;
  let last;
  const c0 = cpuNow();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    // A cached key is answered synchronously; only the store or Redis makes it a promise.
    const out = verifier.verify(principal, { key });
    const r = out instanceof Promise ? await out : out;
    if (r.valid) {
      valid++;
      last = r;
    }
  }
  const t1 = process.hrtime.bigint();
  const c1 = cpuNow();
  if (valid !== n) throw new Error(`verify: ${valid} valid out of ${n}`);
  sink += last.code.length;
  return { wall: Number(t1 - t0) / n, cpu: ((c1 - c0) * 1000) / n };
}

const SLICE = 1_000;

/** A verification's answer where it is synchronous (a cached key), else a failure of the bench. */
function settled(out) {
  if (out instanceof Promise) throw new Error('a cached verification answered a promise');
  return out;
}
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Verifications in slices of one usage batch, each followed by waiting for the recorder to store
 * it: nothing is dropped. Returns the main thread's CPU per verification and the waits.
 */
async function timeVerifyStored(verifier, usage, principal, key, n) {
  let valid = 0;
  const dropped = usage.dropped;
  const waits = [];
  const c0 = threadCpuNs();
  for (let i = 0; i < n; i += SLICE) {
    for (let j = 0; j < SLICE; j++) if (settled(verifier.verify(principal, { key })).valid) valid++;
    const w0 = performance.now();
    if (!(await usage.flush())) throw new Error('verify-stored: a usage flush failed');
    waits.push(performance.now() - w0);
  }
  const c1 = threadCpuNs();
  if (valid !== n) throw new Error(`verify-stored: ${valid} valid out of ${n}`);
  if (usage.dropped !== dropped) throw new Error(`verify-stored: ${usage.dropped - dropped} events dropped`);
  return { cpu: c0 === null ? Number.NaN : (c1 - c0) / n, waitMs: median(waits) };
}

/**
 * Its baseline: the same slices without usage recording, each followed by an idle pause as long
 * as a flush took. A thread that sleeps and wakes pays for it (caches gone cold): here about as
 * much as recording itself, which this keeps out of the ratio.
 */
async function timeVerifyPaused(verifier, principal, key, n, waitMs) {
  let valid = 0;
  const c0 = threadCpuNs();
  for (let i = 0; i < n; i += SLICE) {
    for (let j = 0; j < SLICE; j++) if (settled(verifier.verify(principal, { key })).valid) valid++;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  const c1 = threadCpuNs();
  if (valid !== n) throw new Error(`verify-paused: ${valid} valid out of ${n}`);
  return { cpu: c0 === null ? Number.NaN : (c1 - c0) / n };
}

/**
 * Alternates floor and verify rounds (so drift on a busy machine hits both alike) and reports
 * the median ns/op of each, in wall time (the figure) and in CPU time (a cross-check: on a
 * machine shared with other work, preemption inflates wall time but not CPU time).
 *
 * With usage recording on, the timed loop verifies far faster than SQLite stores rows (and never
 * yields to the event loop, where the writer thread's answers arrive), so the recorder's queue
 * fills and most events are dropped (counted): `usage` reports how many were stored and dropped
 * during the timed rounds. `stored: true` adds rounds in which every event is stored
 * (timeVerifyStored) and their baseline without recording (timeVerifyPaused), alternating with
 * each other after the floor and verify rounds.
 * @param {{ iterations: number, rounds: number, env?: Record<string, string>, stored?: boolean }} opts
 */
export async function runVerifyBench({ iterations, rounds, env = {}, stored = false }) {
  const fx = await createFixture({ env });
  try {
    const { verifier, usage } = fx.services;
    const first = await verifier.verify(fx.principal, { key: fx.key });
    if (!first.valid) throw new Error(`the bench key does not verify: ${first.code}`);
    // The floor's map holds what the verifier's cache holds: one entry, keyed by the hex hash.
    const map = new Map([[hash('sha256', fx.key), { n: 1 }]]);

    // Warm-up: let both loops reach optimized code before anything is timed.
    for (let i = 0; i < 3; i++) {
      timeFloor(map, fx.key, iterations);
      await timeVerify(verifier, fx.principal, fx.key, iterations);
    }
    const floor = [];
    const verify = [];
    const recorded = { stored: 0, dropped: 0 };
    for (let r = 0; r < rounds; r++) {
      floor.push(timeFloor(map, fx.key, iterations));
      const before = { stored: usage.stored, dropped: usage.dropped };
      verify.push(await timeVerify(verifier, fx.principal, fx.key, iterations));
      // Let the writer's answer of the round's last batch in, so it counts for this round.
      await new Promise((resolve) => setImmediate(resolve));
      recorded.stored += usage.stored - before.stored;
      recorded.dropped += usage.dropped - before.dropped;
    }
    // Stored rounds come after, alternating with their own baseline rather than with the rounds
    // above: storing 200,000 events leaves collector work (old-space growth, a mark-compact)
    // that would land on whichever round runs next.
    const verifyStored = [];
    const verifyPaused = [];
    if (stored) {
      // Start from an empty queue: what the rounds above left is not these rounds' to store.
      await usage.flush();
      await timeVerifyStored(verifier, usage, fx.principal, fx.key, iterations);
      for (let r = 0; r < rounds; r++) {
        await usage.flush();
        const one = await timeVerifyStored(verifier, usage, fx.principal, fx.key, iterations);
        verifyStored.push(one);
        // Not an API: a sink of null is what the verifier holds when recording is off.
        verifier.attachUsage(null);
        verifyPaused.push(await timeVerifyPaused(verifier, fx.principal, fx.key, iterations, one.waitMs));
        verifier.attachUsage(usage);
      }
    }
    return {
      iterations,
      rounds,
      floorNs: median(floor.map((x) => x.wall)),
      verifyNs: median(verify.map((x) => x.wall)),
      floorCpuNs: median(floor.map((x) => x.cpu)),
      verifyCpuNs: median(verify.map((x) => x.cpu)),
      // Means, not medians: a round's thread CPU is a whole number of 10 ms ticks.
      storedCpuNs: stored ? mean(verifyStored.map((x) => x.cpu)) : undefined,
      pausedCpuNs: stored ? mean(verifyPaused.map((x) => x.cpu)) : undefined,
      flushWaitMs: stored ? median(verifyStored.map((x) => x.waitMs)) : undefined,
      usage: recorded,
    };
  } finally {
    await fx.dispose();
  }
}
