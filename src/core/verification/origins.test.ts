import { describe, expect, it } from 'vitest';
import { KeywardError } from '../errors/index.js';
import { normalizeOrigin, parseOriginRestriction } from './origins.js';

function restrictionError(text: string): KeywardError {
  try {
    parseOriginRestriction(text);
  } catch (e) {
    if (e instanceof KeywardError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(text)} was accepted as an origin restriction`);
}

describe('normalizeOrigin', () => {
  it('lower-cases the scheme and host', () => {
    expect(normalizeOrigin('HTTPS://App.Example.COM')).toBe('https://app.example.com');
  });

  it('drops the default ports 443 for https and 80 for http', () => {
    expect(normalizeOrigin('https://example.com:443')).toBe('https://example.com');
    expect(normalizeOrigin('http://example.com:80')).toBe('http://example.com');
  });

  it('keeps every other port, including the other scheme default', () => {
    expect(normalizeOrigin('http://example.com:8080')).toBe('http://example.com:8080');
    expect(normalizeOrigin('http://example.com:443')).toBe('http://example.com:443');
    expect(normalizeOrigin('https://example.com:80')).toBe('https://example.com:80');
  });

  it('keeps IP hosts, IPv6 in brackets', () => {
    expect(normalizeOrigin('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(normalizeOrigin('http://[::1]:8080')).toBe('http://[::1]:8080');
    expect(normalizeOrigin('https://[2001:DB8::1]:443')).toBe('https://[2001:db8::1]');
  });

  it('reduces a URL to its origin', () => {
    expect(normalizeOrigin('https://example.com/path?q=1#x')).toBe('https://example.com');
  });

  it('gives the same answer for every spelling of one origin', () => {
    const spellings = [
      'https://example.com',
      'HTTPS://EXAMPLE.COM',
      'https://example.com:443',
      'https://example.com/',
    ];
    expect(new Set(spellings.map(normalizeOrigin))).toEqual(new Set(['https://example.com']));
  });

  it('returns null for non-http schemes', () => {
    for (const text of [
      'ftp://example.com',
      'file:///etc/passwd',
      'ws://example.com',
      'javascript:alert(1)',
      'chrome-extension://abc',
      'data:text/plain,x',
    ]) {
      expect(normalizeOrigin(text), text).toBeNull();
    }
  });

  it('returns null for text that is not a URL', () => {
    for (const text of [
      '',
      'null',
      'example.com',
      '//example.com',
      'https://',
      'http://exa mple.com',
      'https://example.com:65536',
    ]) {
      expect(normalizeOrigin(text), text).toBeNull();
    }
  });

  it('returns null for absurdly long input', () => {
    expect(normalizeOrigin(`https://${'a'.repeat(5000)}.com`)).toBeNull();
  });
});

describe('parseOriginRestriction', () => {
  it('returns the normalized origin of a bare origin', () => {
    expect(parseOriginRestriction('https://example.com')).toBe('https://example.com');
    expect(parseOriginRestriction('HTTPS://Example.com:443')).toBe('https://example.com');
    expect(parseOriginRestriction('http://localhost:3000')).toBe('http://localhost:3000');
    expect(parseOriginRestriction('http://[::1]:8080')).toBe('http://[::1]:8080');
  });

  it('stores an international host in its ASCII (punycode) form, as browsers send it', () => {
    expect(parseOriginRestriction('https://bücher.example')).toBe('https://xn--bcher-kva.example');
    expect(normalizeOrigin('https://xn--bcher-kva.example')).toBe('https://xn--bcher-kva.example');
  });

  it('matches what normalizeOrigin gives for the same origin at verification time', () => {
    expect(parseOriginRestriction('https://App.example.com:443')).toBe(
      normalizeOrigin('https://app.example.com'),
    );
  });

  describe('refuses with INVALID_RESTRICTION', () => {
    const refused: [string, string][] = [
      ['a path', 'https://example.com/app'],
      ['a trailing slash', 'https://example.com/'],
      ['a query', 'https://example.com?x=1'],
      ['an empty query', 'https://example.com?'],
      ['a fragment', 'https://example.com#top'],
      ['an empty fragment', 'https://example.com#'],
      ['credentials', 'https://user:pass@example.com'],
      ['a user name', 'https://user@example.com'],
      ['empty credentials', 'https://@example.com'],
      ['an empty user and password', 'https://:@example.com'],
      ['a non-http scheme', 'ftp://example.com'],
      ['a bare host', 'example.com'],
      ['a scheme without slashes', 'https:example.com'],
      ['backslashes', 'https:\\\\example.com'],
      ['surrounding whitespace', ' https://example.com '],
      ['a newline inside', 'https://exam\nple.com'],
      ['the null origin', 'null'],
      ['a wildcard host', 'https://*.example.com'],
      ['an empty string', ''],
    ];
    for (const [what, text] of refused) {
      it(what, () => {
        const error = restrictionError(text);
        expect(error.code).toBe('INVALID_RESTRICTION');
        expect(error.status).toBe(400);
        expect(error.errors?.[0]?.path).toBe('/restrictions/origins');
      });
    }
  });
});
