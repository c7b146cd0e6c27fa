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

/** A restriction entry must be a bare origin: no path, query, fragment or credentials. */
export function parseOriginRestriction(text: string): string {
  const origin = normalizeOrigin(text);
  let bare = false;
  if (origin !== null) {
    const url = new URL(text);
    bare =
      url.pathname === '/' &&
      !url.search &&
      !url.hash &&
      !url.username &&
      !url.password &&
      !text.endsWith('/');
  }
  if (origin === null || !bare) {
    const message = `"${text.slice(0, 64)}" is not an origin like https://example.com or http://host:8080`;
    throw new KeywardError('INVALID_RESTRICTION', message, [{ path: '/restrictions/origins', message }]);
  }
  return origin;
}
