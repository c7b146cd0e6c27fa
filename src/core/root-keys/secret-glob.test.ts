import { describe, expect, it } from 'vitest';
import { PermissionSet } from './permissions.js';
import { compileSecretGlob } from './secret-glob.js';

describe('compileSecretGlob', () => {
  const cases: [glob: string, covered: string[], notCovered: string[]][] = [
    ['payments', ['payments', 'payments/x', 'payments/x/y'], ['payments2/x', 'pay', 'x/payments']],
    ['payments/*', ['payments/stripe', 'payments/stripe/live'], ['payments', 'payments2/x', 'other/stripe']],
    ['payments/stripe', ['payments/stripe', 'payments/stripe/live'], ['payments/stripe2', 'payments']],
    ['payments/**', ['payments', 'payments/a', 'payments/a/b/c'], ['payments2', 'paymentsx/a']],
    ['**/live', ['live', 'a/live', 'a/b/live', 'a/live/x'], ['a/livex', 'a/b']],
    ['*/key', ['stripe/key', 'a/key/x'], ['key', 'a/b/key', 'a/keys']],
    ['stripe-*', ['stripe-live', 'stripe-/x', 'stripe-test/key'], ['stripe', 'x/stripe-live']],
    ['a.b', ['a.b', 'a.b/c'], ['aXb', 'a-b']],
    ['*', ['a', 'a/b/c'], []],
    ['**', ['a', 'a/b/c'], []],
    ['payments/', ['payments/x'], ['payments2']],
  ];

  it.each(cases)('%s', (glob, covered, notCovered) => {
    const covers = compileSecretGlob(glob);

    for (const path of covered) expect(covers(path), `${glob} covers ${path}`).toBe(true);
    for (const path of notCovered) expect(covers(path), `${glob} does not cover ${path}`).toBe(false);
  });

  // Without memoisation this is 60^8 steps: the test would time out instead of answering.
  it('answers for many ** against a deep path without backtracking blow-up', () => {
    const covers = compileSecretGlob('**/**/**/**/**/**/**/**/z');
    const deep = Array.from({ length: 60 }, (_, i) => `s${i}`).join('/');

    expect(covers(deep)).toBe(false);
    expect(covers(`${deep}/z`)).toBe(true);
  });
});

describe('PermissionSet and secrets', () => {
  it('keeps read and write apart', () => {
    const p = new PermissionSet(['secrets.read:payments/*', 'secrets.write:ci']);

    expect(p.canSecret('read', 'payments/stripe')).toBe(true);
    expect(p.canSecret('write', 'payments/stripe')).toBe(false);
    expect(p.canSecret('write', 'ci/token')).toBe(true);
    expect(p.canSecret('read', 'ci/token')).toBe(false);
    expect(p.hasAnySecret('read')).toBe(true);
    expect(new PermissionSet(['keys.read']).hasAnySecret('read')).toBe(false);
  });

  it('grants every secret with *', () => {
    const p = new PermissionSet(['*']);

    expect(p.canSecret('read', 'any/path')).toBe(true);
    expect(p.canSecret('write', 'any/path')).toBe(true);
  });

  it('lets a grant over every path hand out narrower ones, and nothing else does', () => {
    expect(new PermissionSet(['secrets.read:*']).covers('secrets.read:payments/x')).toBe(true);
    expect(new PermissionSet(['secrets.read:**']).covers('secrets.read:payments/x')).toBe(true);
    expect(new PermissionSet(['secrets.read:*']).covers('secrets.write:payments/x')).toBe(false);
    expect(new PermissionSet(['secrets.read:payments/*']).covers('secrets.read:payments/x')).toBe(false);
    expect(new PermissionSet(['secrets.read:payments/*']).covers('secrets.read:payments/*')).toBe(true);
  });
});
