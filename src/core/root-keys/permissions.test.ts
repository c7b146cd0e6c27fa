import { describe, expect, it } from 'vitest';
import { isValidPermission, PermissionSet, PLAIN_PERMISSIONS } from './permissions.js';

const KS_A = 'ks_AbCdEfGhIjKlMnOpQr12';
const KS_B = 'ks_ZyXwVuTsRqPoNmLkJi98';

/** The permissions CONTRACT.md lists under "Root keys", in its order. */
const CONTRACT_PERMISSIONS = [
  '*',
  'keyspaces.read',
  'keyspaces.write',
  'keys.create',
  'keys.read',
  'keys.update',
  'keys.rotate',
  'keys.revoke',
  'keys.delete',
  'keys.verify',
  'usage.read',
  'audit.read',
  'webhooks.write',
  'alerts.write',
  'root_keys.write',
  'ratelimit.limit',
];

const KEYS_PERMISSIONS = [
  'keys.create',
  'keys.read',
  'keys.update',
  'keys.rotate',
  'keys.revoke',
  'keys.delete',
  'keys.verify',
] as const;

describe('isValidPermission', () => {
  it('knows exactly the plain permissions of the contract', () => {
    expect([...PLAIN_PERMISSIONS].sort()).toEqual([...CONTRACT_PERMISSIONS].sort());
    for (const p of CONTRACT_PERMISSIONS) expect(isValidPermission(p), p).toBe(true);
  });

  it('accepts every keys.* permission narrowed to a well-formed keyspace id', () => {
    expect(KS_A).toMatch(/^ks_[0-9A-Za-z]{20}$/);
    for (const p of KEYS_PERMISSIONS) expect(isValidPermission(`${p}:${KS_A}`), p).toBe(true);
  });

  it('accepts secrets.read and secrets.write with a path glob', () => {
    for (const p of [
      'secrets.read:payments/*',
      'secrets.write:payments/*',
      'secrets.read:*',
      'secrets.read:payments/stripe-key',
      'secrets.write:a.b_c-d/e/**',
    ]) {
      expect(isValidPermission(p), p).toBe(true);
    }
  });

  it('refuses unknown, misspelled and differently cased permissions', () => {
    for (const p of [
      '',
      'keys',
      'keys.*',
      'keys.list',
      'KEYS.READ',
      'Keys.read',
      'keys.read ',
      ' keys.read',
      '**',
    ]) {
      expect(isValidPermission(p), JSON.stringify(p)).toBe(false);
    }
  });

  it('refuses narrowing anything but a keys.* permission', () => {
    for (const p of ['keyspaces.read', 'usage.read', 'audit.read', 'root_keys.write', '*']) {
      expect(isValidPermission(`${p}:${KS_A}`), p).toBe(false);
    }
  });

  it('refuses a narrowing to something that is not a keyspace id', () => {
    for (const target of [
      '',
      'ks_',
      'ks_short',
      'key_AbCdEfGhIjKlMnOpQr12',
      'ks-AbCdEfGhIjKlMnOpQr12',
      `ks_${'a'.repeat(41)}`,
      `${KS_A}!`,
      `${KS_A}\n`,
      `${KS_A}:${KS_B}`,
    ]) {
      expect(isValidPermission(`keys.verify:${target}`), JSON.stringify(target)).toBe(false);
    }
  });

  it('refuses malformed secrets permissions', () => {
    for (const p of [
      'secrets.read',
      'secrets.read:',
      'secrets.delete:payments/*',
      'secrets:payments',
      'secrets.read:pay ments',
      'secrets.read:a?b',
      `secrets.read:${'a'.repeat(257)}`,
      'secrets.read:payments\n',
    ]) {
      expect(isValidPermission(p), JSON.stringify(p)).toBe(false);
    }
  });
});

describe('PermissionSet', () => {
  describe('has', () => {
    it('holds a plain permission that was granted', () => {
      const set = new PermissionSet(['keys.read']);
      expect(set.has('keys.read')).toBe(true);
      expect(set.has('keys.create')).toBe(false);
    });

    it('holds everything with *', () => {
      const set = new PermissionSet(['*']);
      for (const p of PLAIN_PERMISSIONS) expect(set.has(p), p).toBe(true);
    });

    it('does not count a permission narrowed to one keyspace as held for everything', () => {
      expect(new PermissionSet([`keys.verify:${KS_A}`]).has('keys.verify')).toBe(false);
    });

    it('holds nothing when empty', () => {
      expect(new PermissionSet([]).has('keys.read')).toBe(false);
    });

    it('keeps the list it was built from', () => {
      expect(new PermissionSet(['keys.read', `keys.verify:${KS_A}`]).list).toEqual([
        'keys.read',
        `keys.verify:${KS_A}`,
      ]);
    });
  });

  describe('hasFor', () => {
    it('holds a permission for a keyspace it was narrowed to, and no other', () => {
      const set = new PermissionSet([`keys.verify:${KS_A}`]);
      expect(set.hasFor('keys.verify', KS_A)).toBe(true);
      expect(set.hasFor('keys.verify', KS_B)).toBe(false);
    });

    it('does not extend a narrowed permission to another keys.* permission', () => {
      expect(new PermissionSet([`keys.verify:${KS_A}`]).hasFor('keys.read', KS_A)).toBe(false);
    });

    it('holds a whole permission for every keyspace', () => {
      const set = new PermissionSet(['keys.read']);
      expect(set.hasFor('keys.read', KS_A)).toBe(true);
      expect(set.hasFor('keys.read', KS_B)).toBe(true);
    });

    it('holds everything for every keyspace with *', () => {
      const set = new PermissionSet(['*']);
      for (const p of KEYS_PERMISSIONS) expect(set.hasFor(p, KS_A), p).toBe(true);
    });
  });

  describe('hasAny', () => {
    it('holds a permission that is narrowed to some keyspace', () => {
      expect(new PermissionSet([`keys.verify:${KS_A}`]).hasAny('keys.verify')).toBe(true);
    });

    it('holds a whole permission and everything with *', () => {
      expect(new PermissionSet(['keys.verify']).hasAny('keys.verify')).toBe(true);
      expect(new PermissionSet(['*']).hasAny('keys.delete')).toBe(true);
    });

    it('does not confuse one keys.* permission with another', () => {
      const set = new PermissionSet([`keys.verify:${KS_A}`, 'keys.read']);
      expect(set.hasAny('keys.delete')).toBe(false);
      expect(set.hasAny('keys.create')).toBe(false);
    });
  });

  describe('covers', () => {
    it('lets * grant any permission', () => {
      const set = new PermissionSet(['*']);
      for (const p of [...CONTRACT_PERMISSIONS, `keys.verify:${KS_A}`, 'secrets.read:payments/*']) {
        expect(set.covers(p), p).toBe(true);
      }
    });

    it('lets a holder grant what it holds itself', () => {
      const set = new PermissionSet(['keys.read', 'root_keys.write', 'secrets.read:payments/*']);
      expect(set.covers('keys.read')).toBe(true);
      expect(set.covers('root_keys.write')).toBe(true);
      expect(set.covers('secrets.read:payments/*')).toBe(true);
    });

    it('does not let root_keys.write escalate to * or to anything not held', () => {
      const set = new PermissionSet(['root_keys.write', 'keys.read']);
      expect(set.covers('*')).toBe(false);
      expect(set.covers('keys.create')).toBe(false);
      expect(set.covers('audit.read')).toBe(false);
      expect(set.covers('secrets.read:*')).toBe(false);
    });

    it('lets a whole keys.* permission grant that permission narrowed to any keyspace', () => {
      const set = new PermissionSet(['keys.verify']);
      expect(set.covers(`keys.verify:${KS_A}`)).toBe(true);
      expect(set.covers(`keys.read:${KS_A}`)).toBe(false);
    });

    it('lets a narrowed permission grant only that same narrowing', () => {
      const set = new PermissionSet([`keys.verify:${KS_A}`]);
      expect(set.covers(`keys.verify:${KS_A}`)).toBe(true);
      expect(set.covers(`keys.verify:${KS_B}`)).toBe(false);
      expect(set.covers('keys.verify')).toBe(false);
    });

    it('does not let a secrets permission grant the other direction or a wider glob', () => {
      const set = new PermissionSet(['secrets.read:payments/*']);
      expect(set.covers('secrets.write:payments/*')).toBe(false);
      expect(set.covers('secrets.read:*')).toBe(false);
    });
  });
});
