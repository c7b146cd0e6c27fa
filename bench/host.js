// How fast the machine is right now: a fixed piece of CPU work timed several times. On a shared
// host the same work took 52–54 ms in one minute and up to 166 ms in another (docs/benchmarks.md,
// fifth session), so bench/run.js times it before and after its measurements: figures from a
// run whose probe moved are less comparable with other runs than the ratios suggest.
import { performance } from 'node:perf_hooks';
import { median } from './stats.js';

/** One unit of work: 300,000 small objects serialized (about 50 ms on a quiet 2-core machine). */
function work() {
  let n = 0;
  for (let i = 0; i < 300_000; i++) n += JSON.stringify({ a: i, b: `x${i}` }).length;
  return n;
}

/**
 * Times `runs` units of work after `warmup` untimed ones (the JIT's), in ms.
 * @returns {{ min: number, median: number, max: number, runs: number[] }}
 */
export function probeHostSpeed({ warmup = 12, runs = 10 } = {}) {
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += work();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    sink += work();
    times.push(performance.now() - t0);
  }
  if (sink < 0) throw new Error('unreachable');
  return { min: Math.min(...times), median: median(times), max: Math.max(...times), runs: times };
}

/** "52–54 ms (median 53)" */
export function hostSpeedText(p) {
  return `${p.min.toFixed(0)}–${p.max.toFixed(0)} ms (median ${p.median.toFixed(0)})`;
}
