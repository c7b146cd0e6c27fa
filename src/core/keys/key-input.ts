import { invalid, KeywardError } from '../errors/index.js';
import type { Credits, RateLimitSpec, Restrictions } from '../store/index.js';
import { parseRange } from '../verification/ip-ranges.js';
import { parseOriginRestriction } from '../verification/origins.js';

export const MAX_META_BYTES = 16 * 1024;
/**
 * Meta nests at most this deep. Everything that reads it back (the serialiser, the audit
 * chain's canonical JSON) recurses, so a thin, deeply nested object that fits the byte limit
 * would otherwise overflow the stack and turn bad input into a 500.
 */
export const MAX_META_DEPTH = 32;

export interface KeyInput {
  name?: string | null | undefined;
  ownerId?: string | null | undefined;
  meta?: Record<string, unknown> | undefined;
  scopes?: string[] | undefined;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt?: number | null | undefined;
  credits?: Credits | null | undefined;
  ratelimits?: RateLimitSpec[] | undefined;
  restrictions?: Partial<Restrictions> | undefined;
}

// Recursion is bounded by `left`, so the check itself cannot overflow.
function nestsDeeperThan(value: unknown, left: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (left === 0) return true;
  for (const v of Object.values(value)) if (nestsDeeperThan(v, left - 1)) return true;
  return false;
}

export function checkMeta(meta: Record<string, unknown>): Record<string, unknown> {
  if (nestsDeeperThan(meta, MAX_META_DEPTH))
    throw invalid('/meta', `must not nest deeper than ${MAX_META_DEPTH} levels`);
  if (Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES)
    throw invalid('/meta', `must serialise to at most ${MAX_META_BYTES} bytes of JSON`);
  return meta;
}

/** Validates every range and origin; stores origins in canonical form so checks are a set lookup. */
export function normalizeRestrictions(r: Partial<Restrictions> | undefined): Restrictions {
  const ips = [...new Set(r?.ips ?? [])];
  for (const ip of ips) parseRange(ip);
  const origins = [...new Set((r?.origins ?? []).map(parseOriginRestriction))];
  return { ips, origins };
}

export function checkExpiry(expiresAt: number | null | undefined, now: number): void {
  if (expiresAt !== undefined && expiresAt !== null && expiresAt <= now)
    throw invalid('/expiresAt', 'must be in the future');
}

export function checkRatelimits(limits: RateLimitSpec[]): RateLimitSpec[] {
  const names = new Set<string>();
  for (const l of limits) {
    if (names.has(l.name))
      throw new KeywardError('VALIDATION_FAILED', `rate limit "${l.name}" is listed twice`, [
        { path: '/ratelimits', message: `rate limit "${l.name}" is listed twice` },
      ]);
    names.add(l.name);
  }
  return limits;
}
