import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../../test/multinode/support/cluster.js';
import { redisUrl } from '../../../test/support/services.js';
import { systemClock } from '../../core/clock/index.js';
import { describeRateLimiterContract } from '../../core/ratelimit/rate-limiter.contract.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const url = redisUrl();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.skipIf(!url)('Redis rate limiter across an outage', () => {
  it('never admits more than the limit in a window: nothing for a window after losing Redis, then the share; share and Redis for a window after it returns', async () => {
    const target = new URL(url ?? 'redis://127.0.0.1:6379');
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const limiter = new RedisRateLimiter(`redis://127.0.0.1:${proxy.port}`, systemClock);
    const id = `outage-${process.pid}-${Date.now()}`;
    const WINDOW = 3_000;
    const spec = [{ name: 'outage', limit: 6, windowMs: WINDOW }];
    const admitted: number[] = [];
    const attempt = async (n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) {
        if ((await limiter.limit(id, spec, 1)).success) {
          ok++;
          admitted.push(Date.now());
        }
      }
      return ok;
    };
    /** The most admissions found in any window of windowMs: what the guarantee bounds. */
    const busiestWindow = () =>
      Math.max(...admitted.map((t) => admitted.filter((u) => u >= t && u < t + WINDOW).length));
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await sleep(25);
      expect(cond()).toBe(true);
    };
    try {
      await limiter.ready();
      expect(await attempt(6)).toBe(6);

      await proxy.cut();
      await until(() => !limiter.healthy);
      // What Redis admitted in this window is out of sight: nothing more in it.
      const refused = await limiter.limit(id, spec, 1);
      expect(refused).toMatchObject({ success: false, results: [{ remaining: 0 }] });
      expect(await attempt(5)).toBe(0);

      await sleep(3_050);
      // A window later: this node's share of the limit.
      const share = Math.floor(6 / limiter.nodes);
      expect(await attempt(10)).toBe(share);

      await proxy.restore();
      await until(() => limiter.healthy);
      // Redis has not seen the share's admissions; until they leave the window the share still binds.
      await attempt(10);
      expect(busiestWindow()).toBeLessThanOrEqual(6);
      await sleep(3_050);
      // Past that window, Redis alone decides again: the whole limit.
      expect(await attempt(10)).toBe(6);
      expect(busiestWindow()).toBeLessThanOrEqual(6);
    } finally {
      await limiter.close();
      await proxy.cut();
    }
  }, 30_000);
});

describe.skipIf(!url)('Redis rate limiter with Redis not answering (a network partition)', () => {
  it('stops waiting after commandTimeoutMs and decides on its fallback (nothing, at the start of an outage)', async () => {
    const target = new URL(url ?? 'redis://127.0.0.1:6379');
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const quick = new RedisRateLimiter(`redis://127.0.0.1:${proxy.port}`, systemClock, {
      commandTimeoutMs: 100,
    });
    const patient = new RedisRateLimiter(`redis://127.0.0.1:${proxy.port}`, systemClock, {
      commandTimeoutMs: 2_000,
    });
    const spec = [{ name: 'partition', limit: 5, windowMs: 60_000 }];
    const id = `partition-${process.pid}-${Date.now()}`;
    const timed = async (limiter: RedisRateLimiter) => {
      const started = performance.now();
      const decision = await limiter.limit(id, spec, 1);
      return { decision, ms: performance.now() - started };
    };
    try {
      await Promise.all([quick.ready(), patient.ready()]);
      await proxy.freeze();
      const [fast, slow] = await Promise.all([timed(quick), timed(patient)]);
      expect(fast.decision.success).toBe(false);
      expect(slow.decision.success).toBe(false);
      // A timer never fires early; the upper bound leaves 1.9 s for a loaded machine.
      expect(fast.ms).toBeLessThan(2_000);
      expect(slow.ms).toBeGreaterThanOrEqual(1_990);
    } finally {
      await Promise.all([quick.close(), patient.close()]);
      await proxy.cut();
    }
  });
});

// These tests assert exact decisions: a generous timeout keeps a slow moment of a loaded machine
// from turning a decision into a fallback one (the default is 500 ms).
const patiently = { commandTimeoutMs: 5_000 };

describe.skipIf(!url)('Redis rate limiter', () => {
  describeRateLimiterContract('redis', async () => {
    const limiter = new RedisRateLimiter(url ?? '', systemClock, patiently);
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
      limiter = new RedisRateLimiter(url ?? '', systemClock, {
        ...patiently,
        onError: (err) => errors.push(err),
      });
      redis = new Redis(url ?? '');
      await limiter.ready();
    });
    afterAll(async () => {
      await redis.del(
        logKey('ttl', 2_000),
        logKey('flush', 60_000),
        logKey('leave', 3_000),
        logKey('trim', 3_000),
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
      // Entries 900 ms apart in a 3 s window: a late timer only pushes entries out sooner, and
      // each "still inside" below has 600 ms to spare for a loaded machine.
      const spec = [{ name: 'leave', limit: 3, windowMs: 3_000 }];
      for (const wait of [0, 900, 900]) {
        await sleep(wait);
        expect((await limiter.limit(id, spec, 1)).success).toBe(true);
      }
      await sleep(1_500); // the first entry has left, the other two are inside
      expect((await limiter.limit(id, spec, 0)).results[0]?.remaining).toBe(1);
      expect((await limiter.limit(id, spec, 2)).success).toBe(false);
      expect(await limiter.limit(id, spec, 1)).toMatchObject({ success: true, results: [{ remaining: 0 }] });
      await sleep(900); // the second has left too
      expect((await limiter.limit(id, spec, 0)).results[0]?.remaining).toBe(1);
      expect(errors).toEqual([]);
    });

    it('removes the entries that have left the window, 16 or more at a time', async () => {
      const spec = [{ name: 'trim', limit: 100, windowMs: 3_000 }];
      for (let i = 0; i < 20; i++) await limiter.limit(id, spec, 1);
      await sleep(2_000);
      await limiter.limit(id, spec, 1);
      await sleep(1_500); // the 20 have left, the 21st is inside (1.5 s to spare)
      expect(await limiter.limit(id, spec, 1)).toMatchObject({ success: true, results: [{ remaining: 98 }] });
      expect(await redis.llen(logKey('trim', 3_000))).toBe(2);
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
