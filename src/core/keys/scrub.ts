import { hasValidChecksum } from './key-format.js';

/**
 * Defence in depth for what leaves the process as text: SIEM lines, request log lines, error
 * answers. Audit entries, alerts and usage events are built without key material, but their
 * free-form parts (a key's `meta`, a revocation reason, a request's `resource`), a URL and an
 * echoed input are whatever a caller typed, and a caller may paste a key there. Any substring
 * that is a real Keyward key (its CRC-32 checksum matches, so there are almost no false
 * positives) or a webhook signing secret is replaced: a SIEM keeps lines for years and is read
 * by many people, and so are logs.
 */
export const REDACTED = '[redacted]';

// A prefix (which may itself hold `_`), `_`, 38 base62 characters, not followed by another one.
const KEY_CANDIDATE = /[a-z][a-z0-9_]{0,19}_[0-9A-Za-z]{38}(?![0-9A-Za-z])/g;
const WEBHOOK_SECRET = /whsec_[A-Za-z0-9+/]{16,}={0,2}/g;
const MAX_DEPTH = 32;

/** `s` with every key and webhook signing secret in it redacted. */
export function scrubKeyText(s: string): string {
  let out = s;
  if (out.length >= 40 && /_[0-9A-Za-z]{38}/.test(out)) {
    out = out.replace(KEY_CANDIDATE, (match) => {
      // The match may have swallowed word characters before the real prefix: try each start.
      for (let i = 0; i < match.length - 39; i++) {
        const candidate = match.slice(i);
        if (hasValidChecksum(candidate)) return match.slice(0, i) + REDACTED;
      }
      return match;
    });
  }
  if (out.includes('whsec_')) out = out.replace(WEBHOOK_SECRET, REDACTED);
  return out;
}

/** A deep copy of `value` with key-shaped strings (keys included) redacted. */
export function scrubKeys(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubKeyText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => scrubKeys(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[scrubKeyText(k)] = scrubKeys(v, depth + 1);
  return out;
}
