import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/index.js';
import { ManualClock } from '../clock/index.js';
import { type CallContext, PermissionSet } from '../root-keys/index.js';
import { MemoryStore } from '../store/index.js';
import { MasterKey } from './envelope.js';
import { ensureMasterKey } from './master-key-check.js';
import { rotateMasterKey } from './master-key-rotation.js';
import { Vault } from './vault.js';
import { WebhookSecretBox } from './webhook-secrets.js';

const random = (n: number) => randomBytes(n);
const ctx = (workspaceId: string): CallContext => ({
  principal: { workspaceId, rootKeyId: 'rk_test', permissions: new PermissionSet(['*']) },
  ip: null,
});

describe('master key', () => {
  let store: MemoryStore;
  let clock: ManualClock;
  const vaultWith = (key: MasterKey) =>
    new Vault(store, new AuditLog(store, clock), clock, random, key, new WebhookSecretBox(key, random), {
      maxVersions: 10,
    });

  beforeEach(() => {
    store = new MemoryStore();
    clock = new ManualClock();
  });

  describe('ensureMasterKey', () => {
    it('stores a check value on first use, then accepts the same key', async () => {
      const key = MasterKey.generate(random);

      expect(await ensureMasterKey(store, key, random, 1)).toBe('initialised');
      expect(await ensureMasterKey(store, key, random, 2)).toBe('verified');
    });

    it('refuses another key with MASTER_KEY_MISMATCH and changes nothing', async () => {
      await ensureMasterKey(store, MasterKey.generate(random), random, 1);
      const before = await store.getMasterKeyCheck();

      await expect(ensureMasterKey(store, MasterKey.generate(random), random, 2)).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
        message: expect.stringContaining('the master key is wrong'),
      });
      expect(await store.getMasterKeyCheck()).toBe(before);
    });

    it('checks a store that has data keys but lost its check value against a data key', async () => {
      const key = MasterKey.generate(random);
      await vaultWith(key).put(ctx('ws_1'), 'a', { value: 'v' });
      expect(await store.getMasterKeyCheck()).toBeUndefined();

      await expect(ensureMasterKey(store, MasterKey.generate(random), random, 2)).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
      });
      expect(await store.getMasterKeyCheck()).toBeUndefined();
      expect(await ensureMasterKey(store, key, random, 3)).toBe('initialised');
    });
  });

  describe('rotateMasterKey', () => {
    it('re-wraps every data key: every version stays readable with the new key, none with the old', async () => {
      const oldKey = MasterKey.generate(random);
      const newKey = MasterKey.generate(random);
      await ensureMasterKey(store, oldKey, random, 1);
      const written: [string, string, number, string][] = [];
      for (const ws of ['ws_1', 'ws_2'])
        for (const path of ['payments/stripe', 'quotes/key'])
          for (let i = 1; i <= 3; i++) {
            const value = `${ws}-${path}-${i}`;
            const w = await vaultWith(oldKey).put(ctx(ws), path, { value });
            written.push([ws, path, w.version, value]);
          }
      await vaultWith(oldKey).destroy(ctx('ws_1'), 'quotes/key', [1]);
      const progress: number[] = [];

      const count = await rotateMasterKey(store, oldKey, newKey, random, 2, (p) => progress.push(p.done));

      expect(count).toBe(11);
      expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      for (const [ws, path, version, value] of written) {
        if (ws === 'ws_1' && path === 'quotes/key' && version === 1) continue;
        expect((await vaultWith(newKey).get(ctx(ws), path, { version })).value).toBe(value);
      }
      await expect(vaultWith(oldKey).get(ctx('ws_1'), 'payments/stripe')).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
      });
      await expect(ensureMasterKey(store, oldKey, random, 3)).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
      });
      expect(await ensureMasterKey(store, newKey, random, 3)).toBe('verified');
    });

    it('refuses to start from a key that does not open the vault, changing nothing', async () => {
      const key = MasterKey.generate(random);
      await ensureMasterKey(store, key, random, 1);
      await vaultWith(key).put(ctx('ws_1'), 'a', { value: 'v' });

      await expect(
        rotateMasterKey(store, MasterKey.generate(random), MasterKey.generate(random), random, 2),
      ).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
      expect((await vaultWith(key).get(ctx('ws_1'), 'a')).value).toBe('v');
    });

    it('rolls everything back when one data key fails authentication half-way', async () => {
      const key = MasterKey.generate(random);
      const next = MasterKey.generate(random);
      await ensureMasterKey(store, key, random, 1);
      const vault = vaultWith(key);
      for (const path of ['a', 'b', 'c']) await vault.put(ctx('ws_1'), path, { value: path });
      // Corrupt b's wrapped key the way a disk error or an attacker would.
      const b = await store.getSecretVersion('ws_1', 'b', 1);
      await store.updateWrappedKey(
        { workspaceId: 'ws_1', path: 'b', version: 1 },
        `${b?.wrappedKey?.slice(0, -4)}AAAA`,
      );

      await expect(rotateMasterKey(store, key, next, random, 2)).rejects.toThrow(
        /secret b .*nothing was changed/,
      );

      expect((await vault.get(ctx('ws_1'), 'a')).value).toBe('a');
      expect((await vault.get(ctx('ws_1'), 'c')).value).toBe('c');
      await expect(ensureMasterKey(store, next, random, 3)).rejects.toMatchObject({
        code: 'MASTER_KEY_MISMATCH',
      });
    });
  });
});
