export {
  type CacheBus,
  InProcessCacheBus,
  type Invalidation,
  type InvalidationHandler,
  MAX_HASHES_PER_MESSAGE,
} from './cache-bus.js';
