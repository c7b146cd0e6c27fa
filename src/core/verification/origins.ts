import { KeywardError } from '../errors/index.js';

/**
 * The canonical form of an origin: lower-case `scheme://host[:port]`, default ports dropped —
 * what the WHATWG URL parser's `origin` gives. Null for anything that is not an http(s) origin.
 */
export function normalizeOrigin(text: string): string | null {
  if (text.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.origin;
}

/**
 * What a bare origin looks like as typed: scheme, `//`, then host and port only. The WHATWG
 * parser alone is too forgiving for this — it reads `https://a.com?`, `https://@a.com`,
 * `https:a.com` and ` https://a.com` all as `https://a.com` — so the text is checked first.
 * `*` is refused because a wildcard host would be accepted and then never match.
 */
const BARE_ORIGIN_RE = /^https?:\/\/[^/?#@\\\s*]+$/i;

/** A restriction entry must be a bare origin: no path, query, fragment or credentials. */
export function parseOriginRestriction(text: string): string {
  const origin = BARE_ORIGIN_RE.test(text) ? normalizeOrigin(text) : null;
  if (origin === null) {
    const message = `"${text.slice(0, 64)}" is not an origin like https://example.com or http://host:8080`;
    throw new KeywardError('INVALID_RESTRICTION', message, [{ path: '/restrictions/origins', message }]);
  }
  return origin;
}
