import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, idSequence, isId, newId } from './index.js';

describe('ids', () => {
  it('gives every type its prefix and 20 base62 characters', () => {
    for (const type of Object.keys(ID_PREFIXES) as (keyof typeof ID_PREFIXES)[]) {
      const id = newId(type);
      expect(id).toMatch(new RegExp(`^${ID_PREFIXES[type]}_[0-9A-Za-z]{20}$`));
      expect(isId(type, id)).toBe(true);
    }
    expect(isId('key', 'ks_aaaaaaaaaaaaaaaaaaaa')).toBe(false);
  });

  it('makes sequence ids of the same shape, unique within a sequence and across sequences', () => {
    const a = idSequence('request');
    const b = idSequence('request');
    const ids = [...Array.from({ length: 5_000 }, a), ...Array.from({ length: 5_000 }, b)];

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [ids[0], ids[4_999], ids[5_000]]) {
      expect(id).toMatch(/^req_[0-9A-Za-z]{20}$/);
      expect(isId('request', id ?? '')).toBe(true);
    }
  });
});
