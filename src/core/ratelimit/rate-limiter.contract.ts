import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from './rate-limiter.js';

export interface LimiterFixture {
  limiter: RateLimiter;
  /** Lets time pass: a frozen clock moves, a real engine waits. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;
const unique = (label: string) => `${label}-${process.pid}-${Date.now()}-${counter++}`;

/** The contract every rate-limit engine passes: in-process and Redis. */
export function describeRateLimiterContract(name: string, open: () => Promise<LimiterFixture>): void {
  describe(`rate limiter contract: ${name}`, () => {
    let f: LimiterFixture;
    beforeEach(async () => {
      f = await open();
    });
    afterEach(async () => f.close());

    it('admits exactly `limit` out of a concurrent burst of 4× the limit', async () => {
      const id = unique('burst');
      const spec = [{ name: 'default', limit: 25, windowMs: 60_000 }];
      const decisions = await Promise.all(Array.from({ length: 100 }, () => f.limiter.limit(id, spec, 1)));
      expect(decisions.filter((d) => d.success)).toHaveLength(25);
      const last = await f.limiter.limit(id, spec, 0);
      expect(last).toMatchObject({ success: false, results: [{ name: 'default', limit: 25, remaining: 0 }] });
    });

    it('spends nothing on any limit when one of them is full', async () => {
      const id = unique('multi');
      const specs = [
        { name: 'burst', limit: 2, windowMs: 60_000 },
        { name: 'hourly', limit: 100, windowMs: 3_600_000 },
      ];
      await f.limiter.limit(id, specs, 1);
      await f.limiter.limit(id, specs, 1);
      const refused = await f.limiter.limit(id, specs, 1);
      expect(refused.success).toBe(false);
      expect(refused.results.map((r) => r.remaining)).toEqual([0, 98]);
      const hourlyOnly = await f.limiter.limit(id, [specs[1] as (typeof specs)[number]], 0);
      expect(hourlyOnly.results[0]?.remaining).toBe(98);
    });

    it('spends `cost` units, refuses a cost that does not fit, and peeks with cost 0', async () => {
      const id = unique('cost');
      const spec = [{ name: 'units', limit: 10, windowMs: 60_000 }];
      expect((await f.limiter.limit(id, spec, 7)).results[0]?.remaining).toBe(3);
      const tooMuch = await f.limiter.limit(id, spec, 4);
      expect(tooMuch.success).toBe(false);
      expect(tooMuch.results[0]?.remaining).toBe(3);
      expect(await f.limiter.limit(id, spec, 0)).toMatchObject({
        success: true,
        results: [{ remaining: 3 }],
      });
      expect((await f.limiter.limit(id, spec, 3)).success).toBe(true);
      expect((await f.limiter.limit(id, spec, 0)).success).toBe(false);
    });

    it('answers concurrent calls of one identifier as if they came one after another', async () => {
      const id = unique('order');
      const spec = [{ name: 'units', limit: 10, windowMs: 60_000 }];
      const decisions = await Promise.all([4, 4, 4, 0, 1, 2].map((cost) => f.limiter.limit(id, spec, cost)));
      expect(decisions.map((d) => d.success)).toEqual([true, true, false, true, true, false]);
      expect(decisions.map((d) => d.results[0]?.remaining)).toEqual([6, 2, 2, 2, 1, 1]);
    });

    it('counts a limit by its name across calls that carry different sets of limits', async () => {
      const id = unique('sets');
      const burst = { name: 'burst', limit: 2, windowMs: 60_000 };
      const daily = { name: 'daily', limit: 5, windowMs: 86_400_000 };
      const decisions = await Promise.all([
        f.limiter.limit(id, [burst], 1),
        f.limiter.limit(id, [burst, daily], 1),
        f.limiter.limit(id, [burst, daily], 1),
      ]);
      expect(decisions.map((d) => d.success)).toEqual([true, true, false]);
      expect(decisions[2]?.results.map((r) => r.remaining)).toEqual([0, 4]);
    });

    it('keeps identifiers apart', async () => {
      const spec = [{ name: 'default', limit: 1, windowMs: 60_000 }];
      expect((await f.limiter.limit(unique('a'), spec, 1)).success).toBe(true);
      expect((await f.limiter.limit(unique('b'), spec, 1)).success).toBe(true);
    });

    it('slides: no burst at a window boundary, room again once the oldest request leaves', async () => {
      const id = unique('slide');
      const spec = [{ name: 'default', limit: 3, windowMs: 600 }];
      const first = await f.limiter.limit(id, spec, 3);
      expect(first.success).toBe(true);
      const resetAt = first.results[0]?.resetAt ?? 0;
      await f.advance(300);
      expect((await f.limiter.limit(id, spec, 1)).success).toBe(false);
      await f.advance(400);
      const later = await f.limiter.limit(id, spec, 1);
      expect(later.success).toBe(true);
      expect(later.results[0]?.remaining).toBe(2);
      expect(resetAt).toBeGreaterThan(0);
    });
  });
}
