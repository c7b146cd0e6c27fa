import type { Clock } from '../clock/index.js';

interface Entry<V> {
  value: V;
  expiresAt: number;
  /** When the entry last moved to the young end, in `touches`. */
  touched: number;
}

/**
 * A bounded LRU map with per-entry time to live. A Map keeps insertion order, so re-inserting
 * an entry moves it to the young end and the first key is the least recently used. A hit moves
 * its entry only once it has drifted into the older half: a hot key then costs a lookup, not
 * a delete and an insert on every hit, and it can still never be the one evicted.
 *
 * `fill` guards against the classic stale-fill race: a reader that started its store read
 * before an invalidation must not put what it read into the cache afterwards.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private generation = 0;
  private touches = 0;

  constructor(
    private readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** `now` may be passed by a caller that has just read the clock, to save reading it again. */
  get(key: string, now?: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= (now ?? this.clock.now())) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.touches - e.touched >= this.capacity / 2) {
      e.touched = ++this.touches;
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e.value;
  }

  /** A token to hand back to `fill`: it goes stale when any invalidation happens. */
  ticket(): number {
    return this.generation;
  }

  /** Stores `value` unless an invalidation happened since `ticket` was taken. */
  fill(key: string, value: V, ttlMs: number, ticket: number): void {
    if (ticket !== this.generation || ttlMs <= 0 || this.capacity <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlMs, touched: ++this.touches });
  }

  delete(key: string): void {
    this.generation++;
    this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }
}
