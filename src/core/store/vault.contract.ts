import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Store, UniqueViolation } from './store.js';
import type { SecretRecord, SecretVersionRecord } from './vault-store.js';

const WS = 'ws_aaaaaaaaaaaa';
const OTHER = 'ws_bbbbbbbbbbbb';

/**
 * The vault's part of the store contract, run against every store (memory, SQLite,
 * PostgreSQL). Each test gets a fresh store with two workspaces.
 */
export function describeVaultStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`vault store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
      await store.insertWorkspace({ id: OTHER, name: 'two', createdAt: 2 });
    });
    afterEach(async () => store.close());

    const secret = (path: string, over: Partial<SecretRecord> = {}): SecretRecord => ({
      workspaceId: WS,
      path,
      meta: { owner: 'payments', nested: { a: [1, 2] } },
      rotation: { maxAgeSeconds: 86_400, webhook: 'https://rotator.example.com/hook' },
      latestVersion: 1,
      currentVersion: 1,
      pendingVersion: null,
      previousVersion: null,
      currentSince: 100,
      rotationDueAt: 100 + 86_400_000,
      rotationNotifiedVersion: null,
      createdAt: 100,
      updatedAt: 100,
      deletedAt: null,
      ...over,
    });
    const version = (
      path: string,
      v: number,
      over: Partial<SecretVersionRecord> = {},
    ): SecretVersionRecord => ({
      workspaceId: WS,
      path,
      version: v,
      ciphertext: `c-${path}-${v}`,
      wrappedKey: `k-${path}-${v}`,
      createdAt: 100 + v,
      createdBy: 'rk_1',
      destroyedAt: null,
      ...over,
    });

    it('round-trips a secret and scopes it to its workspace', async () => {
      await store.insertSecret(secret('payments/stripe'));

      expect(await store.getSecret(WS, 'payments/stripe')).toEqual(secret('payments/stripe'));
      expect(await store.getSecret(OTHER, 'payments/stripe')).toBeUndefined();
      expect(await store.getSecret(WS, 'payments')).toBeUndefined();
    });

    it('refuses a second secret at the same path of a workspace, not of another', async () => {
      await store.insertSecret(secret('a'));

      await expect(store.insertSecret(secret('a', { deletedAt: 5 }))).rejects.toBeInstanceOf(UniqueViolation);
      await expect(store.insertSecret(secret('a', { workspaceId: OTHER }))).resolves.toBeUndefined();
    });

    it('round-trips a secret without rotation, labels or meta', async () => {
      const bare = secret('bare', {
        meta: {},
        rotation: null,
        currentVersion: null,
        currentSince: null,
        rotationDueAt: null,
      });
      await store.insertSecret(bare);

      expect(await store.getSecret(WS, 'bare')).toEqual(bare);
    });

    it('updates a secret, and with a guard only while latestVersion is still the expected one', async () => {
      await store.insertSecret(secret('s'));
      const patch = {
        latestVersion: 2,
        currentVersion: 2,
        previousVersion: 1,
        meta: { x: 1 },
        rotation: null,
        rotationDueAt: null,
        updatedAt: 200,
      };

      expect(await store.updateSecret(WS, 's', patch, { latestVersion: 1 })).toBe(true);
      expect(await store.updateSecret(WS, 's', { ...patch, latestVersion: 3 }, { latestVersion: 1 })).toBe(
        false,
      );
      expect(await store.getSecret(WS, 's')).toEqual(secret('s', patch));
      expect(await store.updateSecret(OTHER, 's', { deletedAt: 5, updatedAt: 300 })).toBe(false);
      expect(await store.updateSecret(WS, 'missing', { deletedAt: 5, updatedAt: 300 })).toBe(false);
      expect(await store.updateSecret(WS, 's', { deletedAt: 5, updatedAt: 300 })).toBe(true);
      expect((await store.getSecret(WS, 's'))?.deletedAt).toBe(5);
    });

    it('lists newest first, by whole-segment prefix, live or deleted, after a position', async () => {
      const rows = [
        secret('payments', { createdAt: 10 }),
        secret('payments/stripe', { createdAt: 20 }),
        secret('payments/adyen/live', { createdAt: 30 }),
        secret('payments2/x', { createdAt: 40 }),
        secret('pay_x/y', { createdAt: 50 }),
        secret('payments/old', { createdAt: 60, deletedAt: 61 }),
        secret('payments/b', { createdAt: 20 }),
      ];
      for (const r of rows) await store.insertSecret(r);
      await store.insertSecret(secret('payments/elsewhere', { workspaceId: OTHER }));
      const paths = async (f: Parameters<Store['listSecrets']>[1]) =>
        (await store.listSecrets(WS, f)).map((s) => s.path);

      expect(await paths({ deleted: false, limit: 10 })).toEqual([
        'pay_x/y',
        'payments2/x',
        'payments/adyen/live',
        'payments/stripe',
        'payments/b',
        'payments',
      ]);
      expect(await paths({ prefix: 'payments', deleted: false, limit: 10 })).toEqual([
        'payments/adyen/live',
        'payments/stripe',
        'payments/b',
        'payments',
      ]);
      // `_` is a path character, not a wildcard.
      expect(await paths({ prefix: 'pay_x', deleted: false, limit: 10 })).toEqual(['pay_x/y']);
      expect(await paths({ prefix: 'pay', deleted: false, limit: 10 })).toEqual([]);
      expect(await paths({ prefix: 'payments', deleted: true, limit: 10 })).toEqual(['payments/old']);
      expect(await paths({ deleted: false, limit: 2 })).toEqual(['pay_x/y', 'payments2/x']);
      expect(
        await paths({
          prefix: 'payments',
          deleted: false,
          limit: 10,
          after: { createdAt: 20, path: 'payments/stripe' },
        }),
      ).toEqual(['payments/b', 'payments']);
    });

    it('round-trips versions, refuses a duplicate number, and lists them without sealed bytes', async () => {
      await store.insertSecret(secret('a', { latestVersion: 2 }));
      await store.insertSecret(secret('b'));
      for (const v of [
        version('a', 2),
        version('a', 1),
        version('b', 1),
        version('a', 1, { workspaceId: OTHER }),
      ])
        await store.insertSecretVersion(v);

      expect(await store.getSecretVersion(WS, 'a', 2)).toEqual(version('a', 2));
      expect(await store.getSecretVersion(WS, 'a', 3)).toBeUndefined();
      expect(await store.getSecretVersion(OTHER, 'b', 1)).toBeUndefined();
      await expect(store.insertSecretVersion(version('a', 2))).rejects.toBeInstanceOf(UniqueViolation);
      const listed = await store.listSecretVersions(WS, ['b', 'a']);
      expect(listed.map((v) => `${v.path}@${v.version}`)).toEqual(['a@1', 'a@2', 'b@1']);
      expect(listed[0]).toEqual({
        workspaceId: WS,
        path: 'a',
        version: 1,
        createdAt: 101,
        createdBy: 'rk_1',
        destroyedAt: null,
      });
      expect(await store.listSecretVersions(WS, [])).toEqual([]);
    });

    it('deletes versions and destroys one for good, once', async () => {
      await store.insertSecret(secret('a', { latestVersion: 3 }));
      for (const v of [1, 2, 3]) await store.insertSecretVersion(version('a', v));

      await store.deleteSecretVersions(WS, 'a', [1]);
      expect(await store.destroySecretVersion(WS, 'a', 2, 500)).toBe(true);
      expect(await store.destroySecretVersion(WS, 'a', 2, 600)).toBe(false);
      expect(await store.destroySecretVersion(WS, 'a', 1, 600)).toBe(false);

      expect(await store.getSecretVersion(WS, 'a', 1)).toBeUndefined();
      expect(await store.getSecretVersion(WS, 'a', 2)).toEqual(
        version('a', 2, { ciphertext: null, wrappedKey: null, destroyedAt: 500 }),
      );
      expect(await store.getSecretVersion(WS, 'a', 3)).toEqual(version('a', 3));
    });

    it('lists secrets due for rotation across workspaces, and marks each version notified once', async () => {
      await store.insertSecret(secret('due', { rotationDueAt: 1000 }));
      await store.insertSecret(secret('due', { workspaceId: OTHER, rotationDueAt: 900 }));
      await store.insertSecret(secret('later', { rotationDueAt: 5000 }));
      await store.insertSecret(secret('deleted', { rotationDueAt: 1000, deletedAt: 1 }));
      await store.insertSecret(secret('done', { rotationDueAt: 1000, rotationNotifiedVersion: 1 }));
      await store.insertSecret(secret('never', { rotation: null, rotationDueAt: null }));
      const due = async () =>
        (await store.listSecretsDueForRotation(1000, 10)).map((s) => `${s.workspaceId}:${s.path}`);

      expect(await due()).toEqual([`${OTHER}:due`, `${WS}:due`]);
      expect(await store.markSecretRotationNotified(WS, 'due', 2)).toBe(false);
      expect(await store.markSecretRotationNotified(WS, 'due', 1)).toBe(true);
      expect(await store.markSecretRotationNotified(WS, 'due', 1)).toBe(false);
      expect(await due()).toEqual([`${OTHER}:due`]);
      expect((await store.getSecret(WS, 'due'))?.rotationNotifiedVersion).toBe(1);

      await store.updateSecret(WS, 'due', { currentVersion: 2, latestVersion: 2, updatedAt: 2 });
      expect(await due()).toEqual([`${OTHER}:due`, `${WS}:due`]);
      expect(await store.markSecretRotationNotified(WS, 'due', 2)).toBe(true);
    });

    it('scans wrapped keys of every workspace in order, after a position, skipping destroyed versions', async () => {
      await store.insertSecret(secret('b', { latestVersion: 2 }));
      await store.insertSecret(secret('a'));
      await store.insertSecret(secret('a', { workspaceId: OTHER }));
      await store.insertSecretVersion(version('b', 2));
      await store.insertSecretVersion(version('b', 1));
      await store.insertSecretVersion(version('a', 1));
      await store.insertSecretVersion(version('a', 1, { workspaceId: OTHER }));
      await store.insertSecretVersion(
        version('b', 3, { ciphertext: null, wrappedKey: null, destroyedAt: 1 }),
      );
      const at = (r: { workspaceId: string; path: string; version: number }) =>
        `${r.workspaceId === WS ? 'one' : 'two'}:${r.path}@${r.version}`;

      expect(await store.countWrappedKeys()).toBe(4);
      const all = await store.scanWrappedKeys(undefined, 10);
      expect(all.map(at)).toEqual(['one:a@1', 'one:b@1', 'one:b@2', 'two:a@1']);
      expect(all[0]?.wrappedKey).toBe('k-a-1');
      const [, second] = all;
      expect(second && (await store.scanWrappedKeys(second, 2)).map(at)).toEqual(['one:b@2', 'two:a@1']);

      await store.updateWrappedKey({ workspaceId: WS, path: 'b', version: 1 }, 'rewrapped');
      await store.updateWrappedKey({ workspaceId: WS, path: 'b', version: 3 }, 'ignored');
      expect((await store.getSecretVersion(WS, 'b', 1))?.wrappedKey).toBe('rewrapped');
      expect((await store.getSecretVersion(WS, 'b', 1))?.ciphertext).toBe('c-b-1');
      expect((await store.getSecretVersion(WS, 'b', 3))?.wrappedKey).toBeNull();
    });

    it('stores the master-key check value once, and replaces it only on request', async () => {
      expect(await store.getMasterKeyCheck()).toBeUndefined();

      expect(await store.insertMasterKeyCheck('first', 1)).toBe(true);
      expect(await store.insertMasterKeyCheck('second', 2)).toBe(false);
      expect(await store.getMasterKeyCheck()).toBe('first');
      await store.replaceMasterKeyCheck('third', 3);
      expect(await store.getMasterKeyCheck()).toBe('third');
    });

    it('rolls vault writes back with the transaction that made them', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.insertSecret(secret('tx'));
          await tx.insertSecretVersion(version('tx', 1));
          await tx.insertMasterKeyCheck('check', 1);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');

      expect(await store.getSecret(WS, 'tx')).toBeUndefined();
      expect(await store.getSecretVersion(WS, 'tx', 1)).toBeUndefined();
      expect(await store.getMasterKeyCheck()).toBeUndefined();
    });
  });
}
