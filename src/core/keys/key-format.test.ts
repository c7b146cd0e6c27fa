import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../crypto/index.js';
import {
  CHECKSUM_LENGTH,
  checksum,
  DEFAULT_PREFIX,
  generateKey,
  hashKey,
  hasValidChecksum,
  isValidPrefix,
  MAX_KEY_LENGTH,
  RANDOM_LENGTH,
} from './key-format.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The contract's checksum, computed digit by digit from the highest power of 62 down. */
function expectedChecksum(body: string): string {
  const crc = crc32(Buffer.from(body, 'utf8'));
  let out = '';
  for (let power = 5; power >= 0; power--) out += ALPHABET[Math.floor(crc / 62 ** power) % 62];
  return out;
}

function keyFor(prefix: string, random: string): string {
  const body = `${prefix}_${random}`;
  return body + expectedChecksum(body);
}

/** A deterministic random source: a simple counter, so generated keys are reproducible. */
function counter(start = 0): RandomSource {
  let next = start;
  return (size) => Uint8Array.from({ length: size }, () => next++ % 248);
}

const RANDOM = 'Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe';

describe('the key format', () => {
  it('has 32 random and 6 checksum characters, with kw as the default prefix', () => {
    expect(RANDOM_LENGTH).toBe(32);
    expect(CHECKSUM_LENGTH).toBe(6);
    expect(DEFAULT_PREFIX).toBe('kw');
    expect(MAX_KEY_LENGTH).toBe(20 + 1 + 32 + 6);
  });

  it('matches golden keys computed outside Keyward (Python zlib.crc32)', () => {
    expect(checksum('kw_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe')).toBe('1wxe13');
    expect(checksum('kw_root_0123456789ABCDEFGHIJKLMNOPQRSTUV')).toBe('3OuBOY');
    expect(hasValidChecksum('kw_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEe1wxe13')).toBe(true);
  });

  it('left-pads a small checksum with 0 to 6 characters', () => {
    // CRC-32 0x1194df2f is below 62^5 and 0x0061c65d below 62^4.
    expect(checksum('kw_hl3TvtnythpZPPPP6UeP3C4DSA7Lc360')).toBe('0Jxewh');
    expect(checksum('kw_5IeZjVTgxuGwz3j2030ufhqd5OJJkcAz')).toBe('00QsxB');
  });
});

describe('checksum', () => {
  it('is the CRC-32 (IEEE) of the UTF-8 body in base62, most significant digit first', () => {
    for (const body of ['kw_', 'kw_abc', `kw_root_${RANDOM}`, 'x_0', 'é_ü', '']) {
      expect(checksum(body)).toBe(expectedChecksum(body));
    }
  });

  it('uses the standard CRC-32 (check value 0xCBF43926 for "123456789")', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(checksum('123456789')).toBe(expectedChecksum('123456789'));
  });
});

describe('generateKey', () => {
  it('builds <prefix>_<32 random><6 checksum> with a checksum over <prefix>_<random>', () => {
    const { key } = generateKey('kw', counter());
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(key.slice(-6)).toBe(expectedChecksum(key.slice(0, -6)));
    expect(hasValidChecksum(key)).toBe(true);
  });

  it('uses the random source for the random part', () => {
    const { key } = generateKey('kw', counter());
    expect(key.slice(3, 35)).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUV');
  });

  it('supports prefixes that contain underscores', () => {
    const { key, start } = generateKey('kw_root', counter());
    expect(key).toBe(keyFor('kw_root', '0123456789ABCDEFGHIJKLMNOPQRSTUV'));
    expect(start).toBe('kw_root_0123');
    expect(hasValidChecksum(key)).toBe(true);
  });

  it('shows as start the prefix, _, and the first 4 random characters', () => {
    expect(generateKey('kw', counter(10)).start).toBe('kw_ABCD');
    expect(generateKey('sk_live', counter(36)).start).toBe('sk_live_abcd');
  });

  it('stores the sha256 hex of the plaintext, which hashKey reproduces', () => {
    const { key, hash } = generateKey('kw', counter());
    expect(hash).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashKey(key)).toBe(hash);
  });

  it('gives different keys for different randomness', () => {
    expect(generateKey('kw', counter(0)).key).not.toBe(generateKey('kw', counter(1)).key);
  });

  it('fits the longest prefix within MAX_KEY_LENGTH', () => {
    const prefix = `a${'b'.repeat(19)}`;
    const { key } = generateKey(prefix, counter());
    expect(key).toHaveLength(MAX_KEY_LENGTH);
    expect(hasValidChecksum(key)).toBe(true);
  });
});

describe('isValidPrefix', () => {
  it('accepts 1 to 20 of a-z, 0-9 and _, starting with a letter', () => {
    for (const p of ['kw', 'a', 'kw_root', 'sk_live_2', 'a_', `a${'0'.repeat(19)}`]) {
      expect(isValidPrefix(p), p).toBe(true);
    }
  });

  it('refuses empty, too long, upper-case, leading digit or underscore, and other characters', () => {
    for (const p of [
      '',
      `a${'0'.repeat(20)}`,
      'Kw',
      'KW',
      '1kw',
      '_kw',
      'kw-live',
      'kw.',
      'kw ',
      'é',
      'kw\n',
    ]) {
      expect(isValidPrefix(p), JSON.stringify(p)).toBe(false);
    }
  });
});

describe('hasValidChecksum', () => {
  const valid = keyFor('kw', RANDOM);

  it('accepts a well-formed key with a matching checksum', () => {
    expect(hasValidChecksum(valid)).toBe(true);
  });

  it('accepts prefixes with underscores, including a trailing one', () => {
    expect(hasValidChecksum(keyFor('kw_root', RANDOM))).toBe(true);
    expect(hasValidChecksum(keyFor('a_b_c', RANDOM))).toBe(true);
    expect(hasValidChecksum(keyFor('kw_', RANDOM))).toBe(true);
  });

  it('refuses a key whose checksum is off by one character', () => {
    const last = valid.at(-1);
    const changed = valid.slice(0, -1) + (last === '0' ? '1' : '0');
    expect(hasValidChecksum(changed)).toBe(false);
  });

  it('refuses a key whose random part was changed', () => {
    const changed = `kw_X${valid.slice(4)}`;
    expect(changed).not.toBe(valid);
    expect(hasValidChecksum(changed)).toBe(false);
  });

  it('refuses a valid key moved under another prefix', () => {
    expect(hasValidChecksum(`sk${valid.slice(2)}`)).toBe(false);
  });

  it('refuses a checksum computed over the random part alone', () => {
    expect(hasValidChecksum(`kw_${RANDOM}${expectedChecksum(RANDOM)}`)).toBe(false);
  });

  it('refuses a tail one character short or one character long', () => {
    expect(hasValidChecksum(keyFor('kw', RANDOM.slice(1)))).toBe(false);
    expect(hasValidChecksum(keyFor('kw', `${RANDOM}a`))).toBe(false);
  });

  it('refuses bad prefixes even with a matching checksum', () => {
    for (const prefix of ['KW', '1kw', 'kw-live', `a${'b'.repeat(20)}`, 'é']) {
      expect(hasValidChecksum(keyFor(prefix, RANDOM)), prefix).toBe(false);
    }
    expect(hasValidChecksum(`_${RANDOM}${expectedChecksum(`_${RANDOM}`)}`)).toBe(false);
  });

  it('refuses keys without a separator or with characters outside base62', () => {
    expect(hasValidChecksum(`kw${RANDOM}${expectedChecksum(`kw${RANDOM}`)}`)).toBe(false);
    const withDash = `${RANDOM.slice(0, 31)}-`;
    expect(hasValidChecksum(keyFor('kw', withDash))).toBe(false);
    expect(hasValidChecksum(`${keyFor('kw', RANDOM)}\n`)).toBe(false);
    expect(hasValidChecksum(` ${keyFor('kw', RANDOM)}`)).toBe(false);
  });

  it('refuses empty and overlong input before computing anything', () => {
    expect(hasValidChecksum('')).toBe(false);
    expect(hasValidChecksum('_')).toBe(false);
    expect(hasValidChecksum(`${'a'.repeat(10_000)}_${RANDOM}`)).toBe(false);
    expect(hasValidChecksum(keyFor(`a${'b'.repeat(20)}`, RANDOM))).toBe(false);
  });

  it('accepts every key generateKey produces', () => {
    for (let seed = 0; seed < 50; seed++) {
      expect(hasValidChecksum(generateKey('kw', counter(seed * 7)).key)).toBe(true);
    }
  });
});
