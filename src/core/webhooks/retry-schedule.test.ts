import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, nextAttemptAt, parseRetrySchedule } from './retry-schedule.js';

const fixed = (byte: number) => (n: number) => Buffer.alloc(n, byte);

describe('retry schedule', () => {
  it('follows the Standard Webhooks schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([0, 5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6]);
  });

  it('spreads each delay by at most ±20 %', () => {
    expect(nextAttemptAt([0, 10_000], 1, 1_000, fixed(0x00))).toBe(1_000 + 8_000);
    expect(nextAttemptAt([0, 10_000], 1, 1_000, fixed(0xff))).toBeLessThanOrEqual(1_000 + 12_000);
    expect(nextAttemptAt([0, 10_000], 1, 1_000, fixed(0xff))).toBeGreaterThan(1_000 + 11_999);
    expect(nextAttemptAt([0, 10_000], 0, 1_000, fixed(0xff))).toBe(1_000);
  });

  it('has no next attempt once the schedule is spent', () => {
    expect(nextAttemptAt([0, 10_000], 2, 1_000, fixed(0x80))).toBeNull();
    expect(nextAttemptAt(DEFAULT_RETRY_SCHEDULE_MS, 8, 1_000, fixed(0x80))).toBeNull();
  });

  it('parses a comma-separated list of milliseconds, and nothing else', () => {
    expect(parseRetrySchedule('0, 250,1000')).toEqual([0, 250, 1000]);
    for (const bad of ['', '1,,2', '-5', '1.5', 'soon']) expect(() => parseRetrySchedule(bad)).toThrow();
  });
});
