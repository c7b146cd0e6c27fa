import { describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_US, VerificationStats } from './verification-stats.js';

describe('VerificationStats', () => {
  it('counts verifications by code', () => {
    const stats = new VerificationStats();

    stats.count('VALID', 10);
    stats.count('VALID', 10);
    stats.count('REVOKED', 10);

    expect(stats.byCode).toMatchObject({ VALID: 2, REVOKED: 1, NOT_FOUND: 0 });
  });

  it('puts a latency in the first bucket whose bound it does not exceed', () => {
    const stats = new VerificationStats();

    stats.count('VALID', 25); // le 25 µs
    stats.count('VALID', 26); // le 50 µs
    stats.count('VALID', 999); // le 1 ms
    stats.count('VALID', 5_000_000); // above every bound

    const at = (bound: number) => stats.latencyCounts[LATENCY_BOUNDS_US.indexOf(bound)];
    expect([at(25), at(50), at(1_000)]).toEqual([1, 1, 1]);
    expect(stats.latencyCounts[LATENCY_BOUNDS_US.length]).toBe(1);
    expect(stats.latencySumUs).toBe(25 + 26 + 999 + 5_000_000);
  });

  it('has fine buckets below a millisecond', () => {
    expect(LATENCY_BOUNDS_US.filter((b) => b < 1_000).length).toBeGreaterThanOrEqual(6);
  });
});
