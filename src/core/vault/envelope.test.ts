import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  keyCheckOpens,
  MasterKey,
  MasterKeyFormatError,
  makeKeyCheck,
  openVersion,
  rewrapDataKey,
  SealOpenError,
  sealVersion,
} from './envelope.js';

const random = (n: number) => randomBytes(n);
const ref = { workspaceId: 'ws_one', path: 'payments/stripe', version: 3 };

describe('MasterKey', () => {
  it('reads 32 bytes of base64, padded or not', () => {
    const b64 = randomBytes(32).toString('base64');

    expect(MasterKey.fromBase64(b64).toBase64()).toBe(b64);
    expect(MasterKey.fromBase64(`  ${b64.replace(/=+$/, '')}\n`).toBase64()).toBe(b64);
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(33).toString('base64')],
    ['not base64', 'not a key at all!'],
    ['empty', ''],
  ])('refuses a key that is %s, without echoing it', (_, text) => {
    let error: unknown;
    try {
      MasterKey.fromBase64(text);
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(MasterKeyFormatError);
    if (text.length > 4) expect(String((error as Error).message)).not.toContain(text);
  });

  it('never shows its bytes when logged, serialised or inspected', () => {
    const key = MasterKey.generate(random);
    const b64 = key.toBase64();

    for (const shown of [JSON.stringify({ key }), String(key), inspect(key), `${key}`])
      expect(shown).not.toContain(b64);
  });
});

describe('sealVersion / openVersion', () => {
  const master = MasterKey.generate(random);

  it('round-trips a value, and never leaves it readable in the sealed form', () => {
    const sealed = sealVersion(master, ref, 'sk_live_🔑', random);

    expect(openVersion(master, ref, sealed)).toBe('sk_live_🔑');
    for (const blob of [sealed.ciphertext, sealed.wrappedKey])
      expect(Buffer.from(blob, 'base64').includes(Buffer.from('sk_live'))).toBe(false);
  });

  it('uses a fresh data key and nonce each time: the same value seals differently', () => {
    const a = sealVersion(master, ref, 'same', random);
    const b = sealVersion(master, ref, 'same', random);

    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
  });

  it.each([
    ['another path', { ...ref, path: 'payments/adyen' }],
    ['another version', { ...ref, version: 4 }],
    ['another workspace', { ...ref, workspaceId: 'ws_two' }],
  ])('refuses a sealed version moved to %s', (_, elsewhere) => {
    const sealed = sealVersion(master, ref, 'value', random);

    expect(() => openVersion(master, elsewhere, sealed)).toThrow(SealOpenError);
  });

  it('refuses a ciphertext paired with another version’s data key', () => {
    const a = sealVersion(master, ref, 'a', random);
    const b = sealVersion(master, ref, 'b', random);

    expect(() => openVersion(master, ref, { ciphertext: a.ciphertext, wrappedKey: b.wrappedKey })).toThrow(
      expect.objectContaining({ part: 'value' }),
    );
  });

  it('refuses every single flipped bit, and a truncated blob', () => {
    const sealed = sealVersion(master, ref, 'value', random);
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expect(() => openVersion(master, ref, { ...sealed, ciphertext: tampered.toString('base64') })).toThrow(
        SealOpenError,
      );
    }
    expect(() =>
      openVersion(master, ref, { ...sealed, ciphertext: bytes.subarray(0, 20).toString('base64') }),
    ).toThrow(SealOpenError);
  });

  it('refuses a wrong master key with an error about the data key, not garbage', () => {
    const sealed = sealVersion(master, ref, 'value', random);

    expect(() => openVersion(MasterKey.generate(random), ref, sealed)).toThrow(
      expect.objectContaining({ name: 'SealOpenError', part: 'data key' }),
    );
  });
});

describe('rewrapDataKey', () => {
  it('moves a version to a new master key without touching its ciphertext; the old key opens it no more', () => {
    const oldKey = MasterKey.generate(random);
    const newKey = MasterKey.generate(random);
    const sealed = sealVersion(oldKey, ref, 'value', random);

    const rewrapped = {
      ...sealed,
      wrappedKey: rewrapDataKey(oldKey, newKey, ref, sealed.wrappedKey, random),
    };

    expect(openVersion(newKey, ref, rewrapped)).toBe('value');
    expect(() => openVersion(oldKey, ref, rewrapped)).toThrow(SealOpenError);
  });
});

describe('key check', () => {
  it('opens with its own master key only', () => {
    const master = MasterKey.generate(random);
    const check = makeKeyCheck(master, random);

    expect(keyCheckOpens(master, check)).toBe(true);
    expect(keyCheckOpens(MasterKey.generate(random), check)).toBe(false);
    expect(keyCheckOpens(master, 'garbage')).toBe(false);
  });
});
