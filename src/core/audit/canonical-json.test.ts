import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../store/index.js';
import { entryHash } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('writes primitives as JSON does', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(42)).toBe('42');
    expect(canonicalJson(-1.5)).toBe('-1.5');
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"');
    expect(canonicalJson('é')).toBe('"é"');
  });

  it('sorts object keys, so insertion order does not matter', () => {
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('sorts keys at every depth', () => {
    expect(canonicalJson({ z: { y: 1, x: [{ b: 1, a: 2 }] }, a: null })).toBe(
      '{"a":null,"z":{"x":[{"a":2,"b":1}],"y":1}}',
    );
  });

  it('keeps array order', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson(['b', 'a'])).not.toBe(canonicalJson(['a', 'b']));
  });

  it('drops keys whose value is undefined', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('writes undefined inside an array as null, as JSON does', () => {
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
  });

  it('writes empty objects and arrays', () => {
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({ a: {}, b: [] })).toBe('{"a":{},"b":[]}');
  });

  it('escapes keys as JSON strings', () => {
    expect(canonicalJson({ 'a"b': 1 })).toBe('{"a\\"b":1}');
  });

  it('writes non-finite numbers as null, as JSON does', () => {
    expect(canonicalJson([Number.NaN, Number.POSITIVE_INFINITY])).toBe('[null,null]');
  });

  it('writes a value with toJSON, such as a Date, as JSON does', () => {
    const at = new Date(Date.UTC(2026, 0, 1));
    expect(canonicalJson({ at })).toBe('{"at":"2026-01-01T00:00:00.000Z"}');
    expect(canonicalJson([at])).toBe('["2026-01-01T00:00:00.000Z"]');
  });

  it('drops keys whose value JSON cannot hold (functions, symbols)', () => {
    expect(canonicalJson({ a: 1, f: () => 1, s: Symbol('s') })).toBe('{"a":1}');
  });

  it('reads the same before and after a round trip through JSON, as a store would do', () => {
    const values: unknown[] = [
      { b: [1, { d: undefined, c: 'x' }], a: { y: null, x: true } },
      { at: new Date(Date.UTC(2026, 5, 1, 12)), nested: { when: new Date(0) } },
      { keep: 1, drop: undefined, fn: () => 0 },
      [1, undefined, Number.NaN, 'x'],
    ];
    for (const value of values) {
      expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
    }
  });

  it('is valid JSON that parses back to an equal value', () => {
    const value = { b: [1, 'two', { c: null }], a: { nested: { deep: [true, false] } } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});

describe('entryHash', () => {
  const entry = {
    workspaceId: 'ws_AbCdEfGhIjKlMnOpQr12',
    seq: 1,
    at: Date.UTC(2026, 0, 1),
    actor: 'rk_AbCdEfGhIjKlMnOpQr12',
    action: 'key.created',
    targetType: 'key',
    targetId: 'key_AbCdEfGhIjKlMnOpQr12',
    ip: '127.0.0.1',
    data: { name: 'test', scopes: ['a', 'b'] },
    prevHash: GENESIS_HASH,
  };

  it('is the sha256 hex of prevHash followed by the canonical entry without its hashes', () => {
    const { prevHash, ...body } = entry;
    const expected = createHash('sha256')
      .update(prevHash + canonicalJson(body))
      .digest('hex');
    expect(entryHash(entry)).toBe(expected);
  });

  it('does not depend on the order of fields, at any depth', () => {
    const reordered = {
      prevHash: entry.prevHash,
      data: { scopes: ['a', 'b'], name: 'test' },
      ip: entry.ip,
      targetId: entry.targetId,
      targetType: entry.targetType,
      action: entry.action,
      actor: entry.actor,
      at: entry.at,
      seq: entry.seq,
      workspaceId: entry.workspaceId,
    };
    expect(entryHash(reordered)).toBe(entryHash(entry));
  });

  it('ignores a stored hash, so an entry can be checked against its own hash', () => {
    const hash = entryHash(entry);
    expect(entryHash({ ...entry, hash })).toBe(hash);
    expect(entryHash({ ...entry, hash: 'tampered' })).toBe(hash);
  });

  it('changes when any field changes', () => {
    const base = entryHash(entry);
    const changes = [
      { workspaceId: 'ws_other0000000000000000' },
      { seq: 2 },
      { at: entry.at + 1 },
      { actor: 'system' },
      { action: 'key.revoked' },
      { targetType: 'keyspace' },
      { targetId: 'key_other000000000000000' },
      { ip: null },
      { data: { name: 'test', scopes: ['b', 'a'] } },
      { data: { name: 'test' } },
      { prevHash: 'f'.repeat(64) },
    ];
    for (const change of changes) {
      expect(entryHash({ ...entry, ...change }), JSON.stringify(change)).not.toBe(base);
    }
  });

  it('chains: the same entry after a different predecessor hashes differently', () => {
    const first = entryHash(entry);
    const second = { ...entry, seq: 2, prevHash: first };
    expect(entryHash(second)).not.toBe(first);
    expect(entryHash(second)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores data fields that are undefined', () => {
    expect(entryHash({ ...entry, data: { ...entry.data, reason: undefined } })).toBe(entryHash(entry));
  });
});
