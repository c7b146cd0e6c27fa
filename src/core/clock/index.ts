/** Time as milliseconds since the epoch. Injected everywhere so tests freeze it instead of sleeping. */
export interface Clock {
  now(): number;
  /**
   * The time at a monotonic instant the caller has just read (`performance.now()`), for a
   * caller that times itself anyway: the system clock answers without reading the wall clock
   * again (`wallClockAt`); a frozen clock answers its own time.
   */
  nowAt(monotonicMs: number): number;
}

export const systemClock: Clock = { now: () => Date.now(), nowAt: (m) => wallClockAt(m) };

/** How long a wall-clock reading anchors `wallClockAt` before the next one (ms). */
const ANCHOR_MS = 1_000;
let anchorMono = Number.NEGATIVE_INFINITY;
let anchorWall = 0;

/**
 * The system clock's time (epoch ms) at a monotonic instant (`performance.now()`), read from
 * the system clock at most once a second: a caller that reads the monotonic clock anyway (to
 * time itself) gets the wall time without a second clock read, which on some virtual machines
 * costs a sizeable share of a cached verification. Follows a step of the system clock within a
 * second; between anchors it runs at the monotonic clock's rate.
 */
export function wallClockAt(monotonicMs: number): number {
  if (monotonicMs - anchorMono >= ANCHOR_MS || monotonicMs < anchorMono) anchor();
  return Math.floor(anchorWall + (monotonicMs - anchorMono));
}

/**
 * Pairs a system clock reading with the monotonic instant it was taken at: the monotonic clock
 * read on both sides, the midpoint kept, and read again (up to three times in all) when the
 * thread was held up between the two reads for more than a millisecond, so a preemption does
 * not skew every time given out for the next second.
 */
function anchor(): void {
  let gap = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3 && gap > 1; attempt++) {
    const before = performance.now();
    const wall = Date.now();
    const after = performance.now();
    if (after - before < gap) {
      gap = after - before;
      anchorWall = wall;
      anchorMono = (before + after) / 2;
    }
  }
}

/** A clock that only moves when told to; for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  nowAt(_monotonicMs: number): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * The last conversions, direct-mapped by the time modulo a prime. A verification answer formats
 * the `resetAt` of each of a key's limits, and a busy key's values change at most once a
 * millisecond, so several limits' values, each repeated many times, must be remembered at once.
 * They often differ by round windows (1 s, 1 min, 1 h: multiples of 8, which a power-of-two
 * table would put in one slot); modulo 31 they land apart.
 */
const ISO_SLOTS = 31;
const isoMs = new Float64Array(ISO_SLOTS).fill(Number.NaN);
const isoText: string[] = new Array<string>(ISO_SLOTS).fill('');

/** Epoch ms as an ISO 8601 string (`2026-01-01T00:00:00.000Z`). */
export function toIso(ms: number): string {
  const slot = Math.abs(ms % ISO_SLOTS) | 0;
  const hit = isoText[slot];
  if (isoMs[slot] === ms && hit !== undefined) return hit;
  const text = new Date(ms).toISOString();
  isoMs[slot] = ms;
  isoText[slot] = text;
  return text;
}

export function toIsoOrNull(ms: number | null): string | null {
  return ms === null ? null : toIso(ms);
}
