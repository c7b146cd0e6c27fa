import { describe } from 'vitest';
import { redisUrl } from '../../../test/support/services.js';
import { systemClock } from '../../core/clock/index.js';
import { describeRateLimiterContract } from '../../core/ratelimit/rate-limiter.contract.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const url = redisUrl();

describe.skipIf(!url)('Redis rate limiter', () => {
  describeRateLimiterContract('redis', async () => {
    const limiter = new RedisRateLimiter(url ?? '', systemClock);
    await limiter.ready();
    // Redis decides with its own clock, which cannot be frozen: here time really passes.
    return { limiter, advance: (ms) => new Promise((r) => setTimeout(r, ms)), close: () => limiter.close() };
  });
});
