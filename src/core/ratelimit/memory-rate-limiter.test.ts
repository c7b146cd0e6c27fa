import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';

describeRateLimiterContract('in-process', async () => {
  const clock = new ManualClock();
  const limiter = new MemoryRateLimiter(clock);
  return { limiter, advance: async (ms) => clock.advance(ms), close: () => limiter.close() };
});

describe('MemoryRateLimiter', () => {
  it('never admits more than `limit` in any window, at every instant of a long run', async () => {
    const clock = new ManualClock(0);
    const limiter = new MemoryRateLimiter(clock);
    const spec = [{ name: 'd', limit: 5, windowMs: 1_000 }];
    const admitted: number[] = [];
    for (let t = 0; t < 10_000; t += 37) {
      clock.set(t);
      if ((await limiter.limit('k', spec, 1)).success) admitted.push(t);
    }
    for (const t of admitted)
      expect(admitted.filter((a) => a > t - 1_000 && a <= t).length).toBeLessThanOrEqual(5);
    expect(admitted.length).toBeGreaterThan(40);
  });

  it('frees requests admitted in the same millisecond together, once the window has passed', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new MemoryRateLimiter(clock);
    const spec = [{ name: 'd', limit: 3, windowMs: 500 }];
    for (const cost of [1, 2]) expect((await limiter.limit('k', spec, cost)).success).toBe(true);
    clock.advance(499);
    expect((await limiter.limit('k', spec, 1)).success).toBe(false);
    clock.advance(1);
    expect((await limiter.limit('k', spec, 3)).results[0]?.remaining).toBe(0);
  });

  it('reports when the oldest admitted request leaves the window as resetAt', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new MemoryRateLimiter(clock);
    await limiter.limit('k', [{ name: 'd', limit: 2, windowMs: 500 }], 1);
    clock.advance(100);
    const d = await limiter.limit('k', [{ name: 'd', limit: 2, windowMs: 500 }], 1);
    expect(d.results[0]?.resetAt).toBe(1_500);
  });
});
