import { invalid } from '../errors/index.js';

/** One path segment: what CONTRACT.md allows. */
export const SEGMENT_PATTERN = '[A-Za-z0-9._-]+';
/** A whole path, for the OpenAPI document. */
export const SECRET_PATH_PATTERN = `^${SEGMENT_PATTERN}(/${SEGMENT_PATTERN})*$`;
export const MAX_PATH_LENGTH = 512;
export const MAX_SEGMENT_LENGTH = 128;

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The path, validated: `/`-separated segments of `A-Za-z0-9._-`. `.` and `..` are refused
 * although their characters are allowed: HTTP clients collapse them (`a/../b` is sent as `b`),
 * so such a secret could be written by one client and never found by another.
 */
export function parseSecretPath(raw: string, field = 'params:/path'): string {
  if (raw === '') throw invalid(field, 'must not be empty');
  if (raw.length > MAX_PATH_LENGTH) throw invalid(field, `must be at most ${MAX_PATH_LENGTH} characters`);
  for (const segment of raw.split('/')) {
    if (segment === '')
      throw invalid(field, 'must not have empty segments (a leading, trailing or double /)');
    if (!SEGMENT.test(segment))
      throw invalid(field, 'segments may contain only letters, digits, ".", "_" and "-", separated by /');
    if (segment === '.' || segment === '..') throw invalid(field, 'must not have "." or ".." segments');
    if (segment.length > MAX_SEGMENT_LENGTH)
      throw invalid(field, `segments must be at most ${MAX_SEGMENT_LENGTH} characters`);
  }
  return raw;
}

/**
 * Whether `path` is `prefix` or lies under it. Prefixes match whole segments: `payments`
 * covers `payments` and `payments/x`, never `payments2/x`.
 */
export function isUnderPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** A POSIX environment variable name (the portable subset). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment variable a secret is injected as (CONTRACT.md): the last segment,
 * upper-cased, with every character that is not a letter or digit replaced by `_`.
 * `payments/stripe-key` → `STRIPE_KEY`. Null when the result is not a valid name
 * (it would start with a digit).
 */
export function envNameOf(path: string): string | null {
  const last = path.slice(path.lastIndexOf('/') + 1);
  const name = last.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return ENV_NAME.test(name) ? name : null;
}
