import { crc32 } from 'node:zlib';
import { encodeBase62, type RandomSource, randomBase62, sha256Hex } from '../crypto/index.js';

/** 32 base62 characters ≈ 190 bits of entropy. */
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
export const DEFAULT_PREFIX = 'kw';
export const PREFIX_PATTERN = '^[a-z][a-z0-9_]{0,19}$';
const PREFIX_RE = new RegExp(PREFIX_PATTERN);
const TAIL_RE = /^[0-9A-Za-z]{38}$/;
/** Longest possible key: 20 prefix + `_` + 32 + 6. */
export const MAX_KEY_LENGTH = 59;

export interface GeneratedKey {
  /** The plaintext: shown once, never stored. */
  key: string;
  /** sha256 hex of the plaintext: what is stored and looked up. */
  hash: string;
  /** The display hint: prefix, `_`, and the first 4 random characters. */
  start: string;
}

export function isValidPrefix(prefix: string): boolean {
  return PREFIX_RE.test(prefix);
}

/** CRC-32 (IEEE 802.3, as zlib's) of the UTF-8 bytes, as 6 base62 digits. */
export function checksum(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}

export function generateKey(prefix: string, random: RandomSource): GeneratedKey {
  const body = `${prefix}_${randomBase62(RANDOM_LENGTH, random)}`;
  const key = body + checksum(body);
  return { key, hash: sha256Hex(key), start: body.slice(0, prefix.length + 5) };
}

/**
 * Whether a presented string is shaped like a Keyward key and its checksum matches.
 * Mistyped and made-up keys stop here, before any lookup. The prefix is the part before the
 * last `_` (prefixes may themselves contain `_`, the random part never does).
 */
export function hasValidChecksum(key: string): boolean {
  if (key.length > MAX_KEY_LENGTH) return false;
  const sep = key.lastIndexOf('_');
  if (sep < 1) return false;
  const tail = key.slice(sep + 1);
  if (!TAIL_RE.test(tail) || !PREFIX_RE.test(key.slice(0, sep))) return false;
  const body = key.slice(0, key.length - CHECKSUM_LENGTH);
  return checksum(body) === key.slice(key.length - CHECKSUM_LENGTH);
}

export function hashKey(key: string): string {
  return sha256Hex(key);
}
