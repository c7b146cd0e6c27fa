import type { RateLimitSpec } from '../store/index.js';

/** One limit's state after a decision. */
export interface LimitResult {
  name: string;
  limit: number;
  /** What is left in the current window after this decision. */
  remaining: number;
  /** Epoch ms when room next frees up (the oldest admitted request leaves the window). */
  resetAt: number;
}

export interface LimitDecision {
  /** True when every limit had room for `cost`; only then was `cost` spent on all of them. */
  success: boolean;
  results: LimitResult[];
}

/**
 * The rate-limit port. Every implementation gives the same guarantee, proven by one contract
 * suite (`rate-limiter.contract.ts`): a sliding log, so that in ANY interval of `windowMs`
 * the costs admitted for one identifier and limit name add up to at most `limit` — exactly,
 * with no boundary bursts — and all limits of one call are decided together (none is spent
 * when one fails).
 *
 * `cost` 0 peeks: it succeeds when the window is not full and spends nothing.
 */
export interface RateLimiter {
  limit(identifier: string, limits: readonly RateLimitSpec[], cost: number): Promise<LimitDecision>;
  /** False while a shared engine is unreachable and the limiter runs on its fallback. */
  readonly healthy: boolean;
  close(): Promise<void>;
}
