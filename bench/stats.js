import { readFileSync } from 'node:fs';

/** The median of a non-empty list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0 < p ≤ 100) of a sorted typed array, nearest-rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * CPU time of the calling thread alone, in ns, or null where unknown. process.cpuUsage() counts
 * every thread, the usage writer's included; Linux keeps per-thread times (in ticks of 10 ms, so
 * what is measured must run long enough for a few per cent).
 */
export function threadCpuNs() {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 1e7;
  } catch {
    return null;
  }
}
