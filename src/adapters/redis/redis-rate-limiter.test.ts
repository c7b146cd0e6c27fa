import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../../../test/support/services.js';
import { systemClock } from '../../core/clock/index.js';
import { describeRateLimiterContract } from '../../core/ratelimit/rate-limiter.contract.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const url = redisUrl();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.skipIf(!url)('Redis rate limiter', () => {
  describeRateLimiterContract('redis', async () => {
    const limiter = new RedisRateLimiter(url ?? '', systemClock);
    await limiter.ready();
    // Redis decides with its own clock, which cannot be frozen: here time really passes.
    return { limiter, advance: sleep, close: () => limiter.close() };
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
      await redis.del(
        logKey('ttl', 2_000),
        logKey('flush', 60_000),
        logKey('leave', 1_000),
        logKey('trim', 300),
      );
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

    it('counts right while entries leave the window between refusals and peeks', async () => {
      const spec = [{ name: 'leave', limit: 3, windowMs: 1_000 }];
      for (const wait of [0, 300, 300]) {
        await sleep(wait);
        expect((await limiter.limit(id, spec, 1)).success).toBe(true);
      }
      await sleep(500); // the first entry has left, the other two are inside
      expect((await limiter.limit(id, spec, 0)).results[0]?.remaining).toBe(1);
      expect((await limiter.limit(id, spec, 2)).success).toBe(false);
      expect(await limiter.limit(id, spec, 1)).toMatchObject({ success: true, results: [{ remaining: 0 }] });
      await sleep(300); // the second has left too
      expect((await limiter.limit(id, spec, 0)).results[0]?.remaining).toBe(1);
      expect(errors).toEqual([]);
    });

    it('removes the entries that have left the window, 16 or more at a time', async () => {
      const spec = [{ name: 'trim', limit: 100, windowMs: 300 }];
      for (let i = 0; i < 20; i++) await limiter.limit(id, spec, 1);
      await sleep(200);
      await limiter.limit(id, spec, 1);
      await sleep(150); // the 20 have left, the 21st is inside
      expect(await limiter.limit(id, spec, 1)).toMatchObject({ success: true, results: [{ remaining: 98 }] });
      expect(await redis.llen(logKey('trim', 300))).toBe(2);
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
