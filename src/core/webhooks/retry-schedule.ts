import type { RandomSource } from '../crypto/index.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The delay before each attempt, from the Standard Webhooks recommendation: immediately, then
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h — eight attempts over about 27.5 hours. A
 * delivery whose last attempt fails is `failed`.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

/** Each delay is spread by up to ±20 %, so endpoints that failed together are not retried together. */
const JITTER = 0.2;

/**
 * When to try again after `attempts` attempts failed, or null when the schedule is spent.
 * `random` feeds the jitter (injectable, so tests know the exact moment).
 */
export function nextAttemptAt(
  schedule: readonly number[],
  attempts: number,
  now: number,
  random: RandomSource,
): number | null {
  const delay = schedule[attempts];
  if (delay === undefined) return null;
  const bytes = random(4);
  const unit =
    (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
  const factor = 1 - JITTER + (2 * JITTER * unit) / 0x1_0000_0000;
  return now + Math.round(delay * factor);
}

/** Parses `0,5000,300000…` (milliseconds) into a schedule; throws on anything else. */
export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.length > 50 || parts.some((p) => !/^\d{1,10}$/.test(p)))
    throw new Error(`"${text}" is not a comma-separated list of 1 to 50 delays in milliseconds`);
  return parts.map(Number);
}
