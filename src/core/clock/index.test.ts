import { describe, expect, it } from 'vitest';
import { toIso, toIsoOrNull, wallClockAt } from './index.js';

describe('toIso', () => {
  it('formats like Date#toISOString, whatever it converted before', () => {
    const base = Date.UTC(2026, 0, 1);
    // Values 31 apart share a memo slot; round windows apart (1 s, 1 min, 1 h) do not.
    const times = [base, base + 31, base + 1_000, base + 60_000, base + 3_600_000, base + 31, base, -1, 0.5];
    for (let round = 0; round < 3; round++)
      for (const ms of times) expect(toIso(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws on a time that is no date, as Date#toISOString does', () => {
    expect(() => toIso(Number.NaN)).toThrow(RangeError);
  });

  it('keeps null as null', () => {
    expect(toIsoOrNull(null)).toBeNull();
    expect(toIsoOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('wallClockAt', () => {
  it('gives the system time at a monotonic instant, within a millisecond or two of Date.now()', () => {
    for (let i = 0; i < 1_000; i++) {
      const before = Date.now();
      const at = wallClockAt(performance.now());
      const after = Date.now();
      expect(at).toBeGreaterThanOrEqual(before - 2);
      expect(at).toBeLessThanOrEqual(after + 2);
    }
  });

  it('moves with the monotonic clock between system clock readings', () => {
    const t = performance.now();
    // t first: if the anchor is stale, t renews it, and t + 250 is then read from the same one.
    const at = wallClockAt(t);
    const later = wallClockAt(t + 250);
    expect(later - at).toBeGreaterThanOrEqual(249);
    expect(later - at).toBeLessThanOrEqual(251);
  });
});
