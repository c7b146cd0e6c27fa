export { MemoryRateLimiter } from './memory-rate-limiter.js';
export type { LimitDecision, LimitResult, RateLimiter } from './rate-limiter.js';
export { type StandaloneLimitRequest, type StandaloneLimitResult, StandaloneLimits } from './standalone.js';
