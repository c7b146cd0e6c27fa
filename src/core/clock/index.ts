/** Time as milliseconds since the epoch. Injected everywhere so tests freeze it instead of sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
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
