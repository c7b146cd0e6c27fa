import { describe, expect, it } from 'vitest';
import { BASE62, encodeBase62, type RandomSource, randomBase62 } from './base62.js';

/** A random source that hands out the given bytes in order, cycling, and records each request. */
function scripted(bytes: readonly number[]): RandomSource & { requests: number[] } {
  let i = 0;
  const requests: number[] = [];
  const source = (size: number): Uint8Array => {
    requests.push(size);
    const out = new Uint8Array(size);
    for (let j = 0; j < size; j++) out[j] = bytes[i++ % bytes.length] ?? 0;
    return out;
  };
  return Object.assign(source, { requests });
}

describe('BASE62', () => {
  it('is 0-9, then A-Z, then a-z, in that order', () => {
    expect(BASE62).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
  });
});

describe('randomBase62', () => {
  it('returns exactly the requested number of base62 characters', () => {
    for (const length of [1, 6, 20, 32, 100]) {
      const out = randomBase62(length, scripted([7, 250, 61, 130]));
      expect(out).toHaveLength(length);
      expect(out).toMatch(/^[0-9A-Za-z]*$/);
    }
  });

  it('returns an empty string for length 0 without asking for randomness', () => {
    const random = scripted([1]);
    expect(randomBase62(0, random)).toBe('');
    expect(random.requests).toEqual([]);
  });

  it('maps a byte to the character at byte mod 62', () => {
    expect(randomBase62(6, scripted([0, 9, 10, 36, 61, 62]))).toBe('09Aaz0');
    expect(randomBase62(3, scripted([185, 186, 247]))).toBe('z0z');
  });

  it('rejects bytes of 248 and above, so no character is favoured', () => {
    expect(randomBase62(4, scripted([248, 255, 5, 252, 6, 249, 7, 8]))).toBe('5678');
  });

  it('gives every character exactly the same weight over all 256 byte values', () => {
    const everyByte = Array.from({ length: 256 }, (_, b) => b);
    // 248 accepted bytes per cycle of 256; every character appears 248 / 62 = 4 times.
    const out = randomBase62(248, scripted(everyByte));
    const counts = new Map<string, number>();
    for (const c of out) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    expect([...counts.values()].every((n) => n === 4)).toBe(true);
  });

  it('asks for more bytes when a batch was mostly rejected', () => {
    const random = scripted([255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 3]);
    expect(randomBase62(2, random)).toBe('33');
    expect(random.requests.length).toBeGreaterThan(1);
  });

  it('never uses a rejected byte even when the source returns only rejected ones for a while', () => {
    const bytes = [...Array<number>(100).fill(250), 1];
    expect(randomBase62(1, scripted(bytes))).toBe('1');
  });
});

describe('encodeBase62', () => {
  it('writes the most significant digit first', () => {
    expect(encodeBase62(62, 0)).toBe('10');
    expect(encodeBase62(62 * 62 + 2 * 62 + 3, 0)).toBe('123');
    expect(encodeBase62(61, 0)).toBe('z');
  });

  it('left-pads with 0 to the requested width', () => {
    expect(encodeBase62(0, 6)).toBe('000000');
    expect(encodeBase62(61, 6)).toBe('00000z');
    expect(encodeBase62(62, 6)).toBe('000010');
  });

  it('fits the largest CRC-32 in 6 digits', () => {
    expect(encodeBase62(0xffffffff, 6)).toBe('4gfFC3');
  });

  it('does not truncate a value wider than the requested width', () => {
    expect(encodeBase62(62 ** 3, 2)).toBe('1000');
  });

  it('encodes 0 as a single 0 without padding', () => {
    expect(encodeBase62(0, 0)).toBe('0');
  });

  it('refuses negative, fractional and unsafe values instead of writing garbage', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => encodeBase62(bad, 6)).toThrow(RangeError);
    }
  });

  it('round-trips through an independent decoder', () => {
    const decode = (s: string): number => [...s].reduce((n, c) => n * 62 + BASE62.indexOf(c), 0);
    for (const n of [0, 1, 61, 62, 3843, 3844, 238_327, 916_132_831, 916_132_832, 2 ** 32 - 1, 2 ** 53 - 1]) {
      expect(decode(encodeBase62(n, 6))).toBe(n);
    }
  });
});
