/**
 * Counting windows for threshold and failure-burst rules. Each window is kept as ten steps
 * (a tenth of the window each) so that it slides: at time `now`, the count is the sum of the
 * steps that began after `now - window`. That span is between 90% and 100% of the window, so a
 * rule never counts an event older than `windowSeconds` — it may only fire up to one step late.
 */

export const STEPS_PER_WINDOW = 10;

/** Counters outlive their window by this much, for nodes whose clocks disagree a little. */
const PURGE_SLACK_MS = 60_000;

export function stepMs(windowSeconds: number): number {
  return (windowSeconds * 1000) / STEPS_PER_WINDOW;
}

/** Start of the step an event at `at` falls in. */
export function stepOf(at: number, windowSeconds: number): number {
  const step = stepMs(windowSeconds);
  return Math.floor(at / step) * step;
}

/** The first step still inside the window ending at `now`. */
export function windowStart(now: number, windowSeconds: number): number {
  return stepOf(now - windowSeconds * 1000, windowSeconds) + stepMs(windowSeconds);
}

/** When a step's counter no longer matters to any window. */
export function stepExpiry(step: number, windowSeconds: number): number {
  return step + windowSeconds * 1000 + PURGE_SLACK_MS;
}
