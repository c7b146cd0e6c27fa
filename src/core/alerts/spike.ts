import type { AlertBaselineRecord } from '../store/index.js';

/**
 * A key's moving baseline for spike rules: windows of `windowSeconds` aligned to the epoch;
 * when a window closes its count is folded into an exponentially weighted moving average.
 * Until there are `1 / ALPHA` windows the weight is `1 / n` instead (a plain mean), so the
 * first — usually partial — window does not dominate. Windows without traffic fold in as 0.
 */
export const ALPHA = 0.2;
/** Beyond this many idle windows the baseline is as good as zero; stop folding. */
const MAX_FOLDS = 1000;

const weight = (windowsBefore: number) => Math.max(ALPHA, 1 / (windowsBefore + 1));

/** The state after `count` more verifications in the window starting at `bucket`. */
export function addToBaseline(
  current: AlertBaselineRecord | undefined,
  key: { ruleId: string; subject: string },
  windowMs: number,
  bucket: number,
  count: number,
  now: number,
): AlertBaselineRecord {
  if (!current) return { ...key, bucket, count, baseline: 0, windows: 0, version: 1, updatedAt: now };
  const next = { ...current, version: current.version + 1, updatedAt: now };
  if (bucket === current.bucket) {
    next.count += count;
  } else if (bucket > current.bucket) {
    const closed = Math.round((bucket - current.bucket) / windowMs);
    let { baseline, windows } = current;
    let value = current.count;
    for (let i = 0; i < Math.min(closed, MAX_FOLDS); i++) {
      const w = weight(windows);
      baseline += w * (value - baseline);
      windows++;
      value = 0;
    }
    if (closed > MAX_FOLDS) baseline = 0;
    Object.assign(next, { bucket, count, baseline, windows: current.windows + closed });
  } else if (bucket === current.bucket - windowMs && current.windows > 0) {
    // A late flush (another node's) for the window that just closed: the average is linear in
    // the last value folded, so adding its weight times the count is exact.
    next.baseline += weight(current.windows - 1) * count;
  }
  // Anything older is dropped: its window was folded long ago.
  return next;
}

export interface SpikeLimits {
  factor: number;
  minCount: number;
  minHistoryWindows: number;
}

/** Whether the current window's count is a spike against the baseline. */
export function isSpike(state: AlertBaselineRecord, limits: SpikeLimits): boolean {
  return (
    state.windows >= limits.minHistoryWindows &&
    state.count >= limits.minCount &&
    state.count >= limits.factor * state.baseline
  );
}
