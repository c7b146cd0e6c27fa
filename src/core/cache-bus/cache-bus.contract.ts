import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheBus, Invalidation } from './cache-bus.js';

type SingleInvalidation = Exclude<Invalidation, { kind: 'keys' }>;

export interface BusPair {
  /** Two nodes' buses; for a single-node bus both are the same instance. */
  a: CacheBus;
  b: CacheBus;
  close(): Promise<void>;
}

async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The contract every cache bus passes: in-process and Redis. */
export function describeCacheBusContract(name: string, open: () => Promise<BusPair>): void {
  describe(`cache bus contract: ${name}`, () => {
    let pair: BusPair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => pair.close());

    it('applies an invalidation on the publishing node before publish resolves', async () => {
      const seen: Invalidation[] = [];
      pair.a.subscribe((m) => seen.push(m));
      await pair.a.publish({ kind: 'key', hash: 'h1' });
      expect(seen).toContainEqual({ kind: 'key', hash: 'h1' });
    });

    it('delivers every invalidation to the other node intact and in order', async () => {
      const seen: SingleInvalidation[] = [];
      pair.b.subscribe((m) => {
        if (m.kind !== 'keys') seen.push(m);
      });
      const sent: SingleInvalidation[] = Array.from({ length: 50 }, (_, i) => ({
        kind: i % 2 ? 'key' : 'root_key',
        hash: `hash-${i}`,
      }));
      for (const m of sent) await pair.a.publish(m);
      await eventually(() => sent.every((m) => seen.some((s) => s.kind === m.kind && s.hash === m.hash)));
      const order = seen.filter((s) => s.hash.startsWith('hash-')).map((s) => s.hash);
      expect([...new Set(order)]).toEqual(sent.map((m) => m.hash));
    });

    it('delivers a bulk invalidation of many keys in one message', async () => {
      const seen: string[] = [];
      pair.b.subscribe((m) => {
        if (m.kind === 'keys') seen.push(...m.hashes);
      });
      const hashes = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`);
      await pair.a.publish({ kind: 'keys', hashes });
      await eventually(() => seen.length >= 1000);
      expect(seen).toEqual(hashes);
    });

    it('reports itself healthy while connected', () => {
      expect(pair.a.healthy).toBe(true);
      expect(pair.b.healthy).toBe(true);
    });
  });
}
