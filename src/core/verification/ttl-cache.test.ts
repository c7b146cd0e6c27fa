import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { TtlCache } from './ttl-cache.js';

function setup(capacity = 10): { cache: TtlCache<string | null>; clock: ManualClock } {
  const clock = new ManualClock();
  return { cache: new TtlCache<string | null>(capacity, clock), clock };
}

describe('TtlCache', () => {
  it('returns what was filled, and undefined for what was not', () => {
    const { cache } = setup();
    cache.fill('a', 'A', 1000, cache.ticket());
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('caches null as a value (a negative entry), distinct from a miss', () => {
    const { cache } = setup();
    cache.fill('gone', null, 1000, cache.ticket());
    expect(cache.get('gone')).toBeNull();
  });

  it('replaces the value of a key filled again', () => {
    const { cache } = setup();
    cache.fill('a', 'old', 1000, cache.ticket());
    cache.fill('a', 'new', 1000, cache.ticket());
    expect(cache.get('a')).toBe('new');
    expect(cache.size).toBe(1);
  });

  describe('time to live', () => {
    it('keeps an entry until just before its TTL runs out', () => {
      const { cache, clock } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      clock.advance(999);
      expect(cache.get('a')).toBe('A');
    });

    it('drops an entry the moment its TTL runs out', () => {
      const { cache, clock } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      clock.advance(1000);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
    });

    it('does not extend the TTL when an entry is read', () => {
      const { cache, clock } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      clock.advance(600);
      expect(cache.get('a')).toBe('A');
      clock.advance(400);
      expect(cache.get('a')).toBeUndefined();
    });

    it('restarts the TTL when an entry is filled again', () => {
      const { cache, clock } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      clock.advance(600);
      cache.fill('a', 'A2', 1000, cache.ticket());
      clock.advance(600);
      expect(cache.get('a')).toBe('A2');
    });

    it('gives each entry its own TTL', () => {
      const { cache, clock } = setup();
      cache.fill('short', 'S', 100, cache.ticket());
      cache.fill('long', 'L', 10_000, cache.ticket());
      clock.advance(5000);
      expect(cache.get('short')).toBeUndefined();
      expect(cache.get('long')).toBe('L');
    });

    it('stores nothing for a TTL of zero or less', () => {
      const { cache } = setup();
      cache.fill('a', 'A', 0, cache.ticket());
      cache.fill('b', 'B', -5, cache.ticket());
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('b')).toBeUndefined();
      expect(cache.size).toBe(0);
    });
  });

  describe('capacity', () => {
    it('never holds more than its capacity', () => {
      const { cache } = setup(3);
      for (let i = 0; i < 100; i++) cache.fill(`k${i}`, 'v', 1000, cache.ticket());
      expect(cache.size).toBe(3);
    });

    it('evicts the least recently filled entry when nothing was read', () => {
      const { cache } = setup(2);
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.fill('b', 'B', 1000, cache.ticket());
      cache.fill('c', 'C', 1000, cache.ticket());
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('b')).toBe('B');
      expect(cache.get('c')).toBe('C');
    });

    it('evicts the least recently used entry, counting reads as use', () => {
      const { cache } = setup(2);
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.fill('b', 'B', 1000, cache.ticket());
      cache.get('a');
      cache.fill('c', 'C', 1000, cache.ticket());
      expect(cache.get('a')).toBe('A');
      expect(cache.get('b')).toBeUndefined();
      expect(cache.get('c')).toBe('C');
    });

    it('counts a refill as use and evicts nothing for it', () => {
      const { cache } = setup(2);
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.fill('b', 'B', 1000, cache.ticket());
      cache.fill('a', 'A2', 1000, cache.ticket());
      expect(cache.size).toBe(2);
      cache.fill('c', 'C', 1000, cache.ticket());
      expect(cache.get('a')).toBe('A2');
      expect(cache.get('b')).toBeUndefined();
    });

    it('stores nothing at capacity 0', () => {
      const { cache } = setup(0);
      cache.fill('a', 'A', 1000, cache.ticket());
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
    });
  });

  describe('invalidation', () => {
    it('delete removes the entry', () => {
      const { cache } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.delete('a');
      expect(cache.get('a')).toBeUndefined();
    });

    it('clear removes every entry', () => {
      const { cache } = setup();
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.fill('b', 'B', 1000, cache.ticket());
      cache.clear();
      expect(cache.size).toBe(0);
      expect(cache.get('a')).toBeUndefined();
    });

    it('refuses a fill whose ticket was taken before a delete', () => {
      const { cache } = setup();
      const ticket = cache.ticket();
      // A reader read the store, then the key changed and was invalidated, then the reader fills.
      cache.delete('a');
      cache.fill('a', 'stale', 1000, ticket);
      expect(cache.get('a')).toBeUndefined();
    });

    it('refuses a fill whose ticket was taken before a delete of another key', () => {
      const { cache } = setup();
      const ticket = cache.ticket();
      cache.delete('b');
      cache.fill('a', 'maybe stale', 1000, ticket);
      expect(cache.get('a')).toBeUndefined();
    });

    it('refuses a fill whose ticket was taken before a clear', () => {
      const { cache } = setup();
      const ticket = cache.ticket();
      cache.clear();
      cache.fill('a', 'stale', 1000, ticket);
      expect(cache.get('a')).toBeUndefined();
    });

    it('accepts a fill whose ticket was taken after the invalidation', () => {
      const { cache } = setup();
      cache.delete('a');
      const ticket = cache.ticket();
      cache.fill('a', 'fresh', 1000, ticket);
      expect(cache.get('a')).toBe('fresh');
    });

    it('keeps a refused fill from disturbing the entries already there', () => {
      const { cache } = setup(1);
      const stale = cache.ticket();
      cache.delete('x');
      cache.fill('a', 'A', 1000, cache.ticket());
      cache.fill('b', 'stale', 1000, stale);
      expect(cache.get('a')).toBe('A');
      expect(cache.get('b')).toBeUndefined();
    });

    it('does not treat an expiry or an eviction as an invalidation', () => {
      const { cache, clock } = setup(1);
      const ticket = cache.ticket();
      cache.fill('a', 'A', 10, ticket);
      cache.fill('b', 'B', 10, ticket);
      clock.advance(10);
      expect(cache.get('b')).toBeUndefined();
      cache.fill('c', 'C', 1000, ticket);
      expect(cache.get('c')).toBe('C');
    });
  });
});
