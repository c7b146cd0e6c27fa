import { createHash, hash } from 'node:crypto';

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: the cheapest sha256.
const oneShot: ((algorithm: string, data: string) => string) | undefined =
  typeof hash === 'function' ? (hash as (algorithm: string, data: string) => string) : undefined;

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(data: string): string {
  return oneShot ? oneShot('sha256', data) : createHash('sha256').update(data).digest('hex');
}
