export { INVALIDATION_CHANNEL, RedisCacheBus, type RedisCacheBusOptions } from './redis-cache-bus.js';
