import { describe, expect, it } from 'vitest';
import { KeywardError } from '../errors/index.js';
import { envNameOf, isUnderPrefix, parseSecretPath } from './secret-path.js';

describe('parseSecretPath', () => {
  it.each(['payments', 'payments/stripe-key', 'a.b_c-D/9/x', `${'a'.repeat(128)}/b`])(
    'accepts %s',
    (path) => {
      expect(parseSecretPath(path)).toBe(path);
    },
  );

  it.each([
    ['empty', ''],
    ['a leading slash', '/a'],
    ['a trailing slash', 'a/'],
    ['a double slash', 'a//b'],
    ['a space', 'a b'],
    ['a colon', 'a:b'],
    ['a NUL', 'a\0b'],
    ['non-ASCII', 'café'],
    ['a . segment', 'a/./b'],
    ['a .. segment', 'a/../b'],
    ['a segment over 128 characters', 'a'.repeat(129)],
    ['over 512 characters', Array.from({ length: 9 }, () => 'a'.repeat(60)).join('/')],
  ])('refuses %s with a 400 naming the field', (_, path) => {
    expect(() => parseSecretPath(path)).toThrow(KeywardError);
    expect(() => parseSecretPath(path)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('isUnderPrefix', () => {
  it('matches whole segments only', () => {
    expect(isUnderPrefix('payments', 'payments')).toBe(true);
    expect(isUnderPrefix('payments/x', 'payments')).toBe(true);
    expect(isUnderPrefix('payments/x/y', 'payments/x')).toBe(true);
    expect(isUnderPrefix('payments2/x', 'payments')).toBe(false);
    expect(isUnderPrefix('pay', 'payments')).toBe(false);
  });
});

describe('envNameOf', () => {
  it.each([
    ['payments/stripe-key', 'STRIPE_KEY'],
    ['stripe-key', 'STRIPE_KEY'],
    ['a/b/db.password', 'DB_PASSWORD'],
    ['x/already_UPPER', 'ALREADY_UPPER'],
    ['x/_private', '_PRIVATE'],
  ])('%s → %s', (path, name) => {
    expect(envNameOf(path)).toBe(name);
  });

  it('is null when the name would start with a digit', () => {
    expect(envNameOf('keys/1password')).toBeNull();
  });
});
