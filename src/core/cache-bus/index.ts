export {
  type CacheBus,
  InProcessCacheBus,
  type Invalidation,
  type InvalidationHandler,
} from './cache-bus.js';
