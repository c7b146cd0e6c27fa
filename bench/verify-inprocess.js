// Benchmark 1: in-process verification of a cached key against the floor
// `crypto.hash('sha256', key) + Map.get(hash)`: the two things a cached verification cannot avoid.
import { hash } from 'node:crypto';
import { createFixture } from './fixture.js';
import { median } from './stats.js';

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
    const r = await verifier.verify(principal, { key });
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

/**
 * Alternates floor and verify rounds (so drift on a busy machine hits both alike) and reports
 * the median ns/op of each, in wall time (the figure) and in CPU time (a cross-check: on a
 * machine shared with other work, preemption inflates wall time but not CPU time).
 * @param {{ iterations: number, rounds: number, env?: Record<string, string> }} opts
 */
export async function runVerifyBench({ iterations, rounds, env = {} }) {
  const fx = await createFixture({ env });
  try {
    const { verifier } = fx.services;
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
    for (let r = 0; r < rounds; r++) {
      floor.push(timeFloor(map, fx.key, iterations));
      verify.push(await timeVerify(verifier, fx.principal, fx.key, iterations));
    }
    return {
      iterations,
      rounds,
      floorNs: median(floor.map((x) => x.wall)),
      verifyNs: median(verify.map((x) => x.wall)),
      floorCpuNs: median(floor.map((x) => x.cpu)),
      verifyCpuNs: median(verify.map((x) => x.cpu)),
    };
  } finally {
    await fx.dispose();
  }
}
