import type { VerifyCode } from './verifier.js';

export const VERIFY_CODES: readonly VerifyCode[] = [
  'VALID',
  'NOT_FOUND',
  'DISABLED',
  'REVOKED',
  'EXPIRED',
  'FORBIDDEN',
  'INSUFFICIENT_SCOPES',
  'RATE_LIMITED',
  'USAGE_EXCEEDED',
];

/**
 * Upper bounds of the latency histogram, in microseconds: fine below a millisecond, where a
 * cache hit answers, coarser up to a second, where a slow store read would show.
 */
export const LATENCY_BOUNDS_US: readonly number[] = [
  25, 50, 100, 200, 300, 500, 750, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
  1_000_000,
];

/**
 * What the verifier counts, as plain integers: a verification costs a few increments, and
 * the metrics endpoint reads the totals when scraped (no metrics library on the hot path).
 */
export class VerificationStats {
  readonly byCode: Record<VerifyCode, number> = {
    VALID: 0,
    NOT_FOUND: 0,
    DISABLED: 0,
    REVOKED: 0,
    EXPIRED: 0,
    FORBIDDEN: 0,
    INSUFFICIENT_SCOPES: 0,
    RATE_LIMITED: 0,
    USAGE_EXCEEDED: 0,
  };
  /** Verifications answered from the in-process cache. */
  cacheHits = 0;
  /** Verifications that read the store (cache miss, or cache bypassed while the bus is down). */
  cacheMisses = 0;
  /** Count per latency bucket (not cumulative); the last slot is above the last bound. */
  readonly latencyCounts: number[] = new Array(LATENCY_BOUNDS_US.length + 1).fill(0);
  latencySumUs = 0;

  count(code: VerifyCode, latencyUs: number): void {
    this.byCode[code]++;
    this.latencySumUs += latencyUs;
    let i = 0;
    while (i < LATENCY_BOUNDS_US.length && latencyUs > (LATENCY_BOUNDS_US[i] ?? 0)) i++;
    this.latencyCounts[i] = (this.latencyCounts[i] ?? 0) + 1;
  }
}
