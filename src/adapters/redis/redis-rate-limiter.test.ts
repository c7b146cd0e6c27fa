import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  describe('on Redis', () => {
    let limiter: RedisRateLimiter;
    let redis: Redis;
    const errors: Error[] = [];
    const id = `redis-only-${process.pid}-${Date.now()}`;
    const logKey = (name: string, windowMs: number) => `kw:rl:{${id}}:${name}:${windowMs}:list`;

    beforeAll(async () => {
      limiter = new RedisRateLimiter(url ?? '', systemClock, { onError: (err) => errors.push(err) });
      redis = new Redis(url ?? '');
      await limiter.ready();
    });
    afterAll(async () => {
      await redis.del(logKey('ttl', 2_000), logKey('flush', 60_000));
      redis.disconnect();
      await limiter.close();
    });

    it('keeps a log until its newest entry has left the window, and not much longer', async () => {
      await limiter.limit(id, [{ name: 'ttl', limit: 5, windowMs: 2_000 }], 1);
      const ttl = await redis.pttl(logKey('ttl', 2_000));
      // The expiry is rounded up to the next whole second after the newest entry's window.
      expect(ttl).toBeGreaterThan(2_000 - 50);
      expect(ttl).toBeLessThanOrEqual(3_000);
    });

    it('keeps deciding on Redis, not on its fallback, after Redis forgot the script', async () => {
      const spec = [{ name: 'flush', limit: 3, windowMs: 60_000 }];
      await limiter.limit(id, spec, 1);
      await redis.script('FLUSH');
      const after = await limiter.limit(id, spec, 1);
      expect(after).toMatchObject({ success: true, results: [{ remaining: 1 }] });
      expect(errors).toEqual([]);
    });
  });
});
