import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { RandomSource } from '../crypto/index.js';

/**
 * Envelope encryption for the vault. Every secret version is sealed with AES-256-GCM under a
 * data key of its own; the data key is sealed (wrapped) with AES-256-GCM under the master key.
 * Both seals carry the version's identity — workspace id, path and version — as additional
 * authenticated data, so a ciphertext or a wrapped key copied onto another row, path or
 * workspace fails authentication instead of decrypting there.
 *
 * A sealed blob is `format (1 byte) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, base64 in the store.
 * Each data key seals exactly one message, so its random nonce can never repeat; the master key
 * seals one data key per version, far below GCM's 2^32 random-nonce bound (NIST SP 800-38D §8.3).
 */

const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** The 32-byte key that wraps every data key. Never serialised, logged or inspected by accident. */
export class MasterKey {
  readonly #bytes: Buffer;

  private constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== KEY_BYTES)
      throw new MasterKeyFormatError(`is ${bytes.length} bytes, not ${KEY_BYTES}`);
    return new MasterKey(bytes);
  }

  /** Standard base64 (padding optional) of exactly 32 bytes, e.g. from `openssl rand -base64 32`. */
  static fromBase64(text: string): MasterKey {
    const trimmed = text.trim();
    // Buffer.from ignores what is not base64; insist on the alphabet so typos do not shorten keys silently.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed))
      throw new MasterKeyFormatError(`must be ${KEY_BYTES} bytes encoded as base64`);
    return MasterKey.fromBytes(Buffer.from(trimmed, 'base64'));
  }

  static generate(random: RandomSource): MasterKey {
    return new MasterKey(random(KEY_BYTES));
  }

  /** For writing the key file; the one way the bytes leave this object. */
  toBase64(): string {
    return this.#bytes.toString('base64');
  }

  /** @internal the raw key, for the cipher calls of this module. */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): string {
    return '[MasterKey]';
  }

  toString(): string {
    return '[MasterKey]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[MasterKey]';
  }
}

/** A master key that is not 32 bytes of base64. The message never contains the key. */
export class MasterKeyFormatError extends Error {
  override name = 'MasterKeyFormatError';
}

/** A seal that failed authentication: wrong key, tampered bytes, or a blob moved from elsewhere. */
export class SealOpenError extends Error {
  override name = 'SealOpenError';
  constructor(readonly part: 'data key' | 'value' | 'key check' | 'credential') {
    super(`the ${part} failed authentication`);
  }
}

/** Where a version lives; bound into both of its seals. */
export interface VersionRef {
  workspaceId: string;
  path: string;
  version: number;
}

export interface SealedVersion {
  /** base64 of the sealed value. */
  ciphertext: string;
  /** base64 of the sealed data key. */
  wrappedKey: string;
}

// NUL cannot occur in a workspace id or a path, so these encodings are unambiguous.
const valueAad = (r: VersionRef) =>
  Buffer.from(`keyward:secret-value:v1\0${r.workspaceId}\0${r.path}\0${r.version}`);
const keyAad = (r: VersionRef) =>
  Buffer.from(`keyward:data-key:v1\0${r.workspaceId}\0${r.path}\0${r.version}`);
const CHECK_AAD = Buffer.from('keyward:master-key-check:v1');
const CHECK_PLAINTEXT = Buffer.from('keyward master key check');

function seal(key: Buffer, plaintext: Buffer, aad: Buffer, random: RandomSource): Buffer {
  const nonce = Buffer.from(random(NONCE_BYTES));
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), nonce, body, cipher.getAuthTag()]);
}

/** Opens a blob or throws SealOpenError: never returns unauthenticated bytes. */
function open(key: Buffer, blob: string, aad: Buffer, part: SealOpenError['part']): Buffer {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== FORMAT) throw new SealOpenError(part);
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new SealOpenError(part);
  }
}

function unwrap(master: MasterKey, ref: VersionRef, wrappedKey: string): Buffer {
  const dataKey = open(master.bytes(), wrappedKey, keyAad(ref), 'data key');
  if (dataKey.length !== KEY_BYTES) throw new SealOpenError('data key');
  return dataKey;
}

/** Seals a value under a fresh data key, and the data key under the master key. */
export function sealVersion(
  master: MasterKey,
  ref: VersionRef,
  value: string,
  random: RandomSource,
): SealedVersion {
  const dataKey = Buffer.from(random(KEY_BYTES));
  try {
    return {
      ciphertext: seal(dataKey, Buffer.from(value, 'utf8'), valueAad(ref), random).toString('base64'),
      wrappedKey: seal(master.bytes(), dataKey, keyAad(ref), random).toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** The value of a version, or SealOpenError naming the part that failed. */
export function openVersion(master: MasterKey, ref: VersionRef, sealed: SealedVersion): string {
  const dataKey = unwrap(master, ref, sealed.wrappedKey);
  try {
    const plaintext = open(dataKey, sealed.ciphertext, valueAad(ref), 'value');
    const value = plaintext.toString('utf8');
    plaintext.fill(0);
    return value;
  } finally {
    dataKey.fill(0);
  }
}

/** Unwraps a data key with `from` and wraps it with `to`; the value's ciphertext is untouched. */
export function rewrapDataKey(
  from: MasterKey,
  to: MasterKey,
  ref: VersionRef,
  wrappedKey: string,
  random: RandomSource,
): string {
  const dataKey = unwrap(from, ref, wrappedKey);
  try {
    return seal(to.bytes(), dataKey, keyAad(ref), random).toString('base64');
  } finally {
    dataKey.fill(0);
  }
}

const credentialAad = (context: string) => Buffer.from(`keyward:credential:v1\0${context}`);

/**
 * Seals a small credential Keyward must hold in clear to use (a webhook signing secret) directly
 * under the master key, bound to `context` (what it belongs to: a NUL-separated identity, e.g.
 * `webhook-secret\0<workspace>\0<webhook id>`) so the blob cannot be moved to another row.
 * One seal per credential keeps the master key's random nonces far below GCM's bound.
 */
export function sealCredential(
  master: MasterKey,
  context: string,
  plaintext: string,
  random: RandomSource,
): string {
  return seal(master.bytes(), Buffer.from(plaintext, 'utf8'), credentialAad(context), random).toString(
    'base64',
  );
}

/** Opens what sealCredential sealed, or throws SealOpenError (wrong key, tampered, moved). */
export function openCredential(master: MasterKey, context: string, blob: string): string {
  const plaintext = open(master.bytes(), blob, credentialAad(context), 'credential');
  const text = plaintext.toString('utf8');
  plaintext.fill(0);
  return text;
}

/** Whether `master` opens this credential (without keeping it). */
export function opensCredential(master: MasterKey, context: string, blob: string): boolean {
  try {
    openCredential(master, context, blob);
    return true;
  } catch {
    return false;
  }
}

/** Whether `master` opens this data key (without keeping it). */
export function opensDataKey(master: MasterKey, ref: VersionRef, wrappedKey: string): boolean {
  try {
    unwrap(master, ref, wrappedKey).fill(0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The key-check value: a constant sealed under the master key, stored once. A server started
 * with another key cannot open it and refuses to start, before it writes anything.
 */
export function makeKeyCheck(master: MasterKey, random: RandomSource): string {
  return seal(master.bytes(), CHECK_PLAINTEXT, CHECK_AAD, random).toString('base64');
}

export function keyCheckOpens(master: MasterKey, check: string): boolean {
  try {
    return open(master.bytes(), check, CHECK_AAD, 'key check').equals(CHECK_PLAINTEXT);
  } catch {
    return false;
  }
}
