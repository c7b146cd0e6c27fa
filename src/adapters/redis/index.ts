export { INVALIDATION_CHANNEL, RedisCacheBus, type RedisCacheBusOptions } from './redis-cache-bus.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
