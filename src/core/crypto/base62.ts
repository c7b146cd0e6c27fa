export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A source of cryptographically secure random bytes; injectable so tests can be deterministic. */
export type RandomSource = (size: number) => Uint8Array;

/**
 * `length` uniformly distributed base62 characters. Bytes of 248 and above are rejected
 * (248 = 4 × 62), so no character is more likely than another.
 */
export function randomBase62(length: number, random: RandomSource): string {
  let out = '';
  while (out.length < length) {
    const bytes = random(Math.ceil((length - out.length) * 1.1) + 4);
    for (const byte of bytes) {
      if (byte < 248) {
        out += BASE62[byte % 62];
        if (out.length === length) break;
      }
    }
  }
  return out;
}

/** An unsigned integer in base62, most significant digit first, left-padded with `0`. */
export function encodeBase62(value: number, width: number): string {
  // Anything else would index outside the alphabet and silently write "undefined".
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`encodeBase62 takes a non-negative safe integer, not ${value}`);
  }
  let n = value;
  let out = '';
  do {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}
