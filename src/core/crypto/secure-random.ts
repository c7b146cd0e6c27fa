import { randomBytes } from 'node:crypto';
import type { RandomSource } from './base62.js';

const POOL_SIZE = 4096;
const POOLED_MAX = 256;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

/**
 * The default randomness: the operating system's CSPRNG. Small requests (ids, keys) are served
 * from a 4 KiB pool drawn in one call — a syscall per request id costs measurably on the hot
 * path. Bytes are handed out once: a spent pool is replaced, never refilled in place, so a
 * view returned earlier is never overwritten.
 */
export const secureRandom: RandomSource = (size) => {
  if (size > POOLED_MAX) return randomBytes(size);
  if (offset + size > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + size);
  offset += size;
  return out;
};
