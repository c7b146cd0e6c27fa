import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyRecord } from './records.js';
import type { Store } from './store.js';
import { keyRecord } from './testing/key-record.js';

/** Leases and rotation-due marks: the same contract for memory, SQLite and PostgreSQL. */
export function describeSchedulerStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`scheduler store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: 'ws_sched000000', name: 'sched', createdAt: 1 });
    });
    afterEach(async () => store.close());

    it('gives a lease to one holder until it expires, renews it for that holder, then lets another take over', async () => {
      expect(await store.acquireLease('scheduler', 'node-a', 1_000, 10_000)).toBe(true);
      expect(await store.acquireLease('scheduler', 'node-b', 1_000, 10_500)).toBe(false);
      expect(await store.acquireLease('scheduler', 'node-a', 1_000, 10_900)).toBe(true);
      expect(await store.acquireLease('scheduler', 'node-b', 1_000, 11_800)).toBe(false);
      expect(await store.acquireLease('scheduler', 'node-b', 1_000, 12_000)).toBe(true);
      expect(await store.acquireLease('scheduler', 'node-a', 1_000, 12_100)).toBe(false);
    });

    it('hands the lease over at once when its holder releases it', async () => {
      await store.acquireLease('scheduler', 'node-a', 60_000, 0);
      await store.releaseLease('scheduler', 'node-b');
      expect(await store.acquireLease('scheduler', 'node-b', 60_000, 1)).toBe(false);
      await store.releaseLease('scheduler', 'node-a');
      expect(await store.acquireLease('scheduler', 'node-b', 60_000, 2)).toBe(true);
    });

    it('grants an unexpired lease to exactly one of many concurrent contenders', async () => {
      const wins = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.acquireLease('contended', `node-${i}`, 60_000, 100)),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('lists old, active, unreplaced keys of rotating keyspaces once, until they are marked due', async () => {
      await store.insertKeyspace({
        id: 'ks_rot00000000',
        workspaceId: 'ws_sched000000',
        name: 'rot',
        prefix: 'kw',
        defaults: {},
        rotation: { maxAgeSeconds: 3600, gracePeriodSeconds: 60 },
        createdAt: 1,
        updatedAt: 1,
      });
      await store.insertKeyspace({
        id: 'ks_plain000000',
        workspaceId: 'ws_sched000000',
        name: 'plain',
        prefix: 'kw',
        defaults: {},
        rotation: {},
        createdAt: 1,
        updatedAt: 1,
      });
      const key = (id: string, over: Partial<KeyRecord> = {}): KeyRecord =>
        keyRecord(id, {
          workspaceId: 'ws_sched000000',
          keyspaceId: 'ks_rot00000000',
          createdAt: 1_000,
          ...over,
        });
      await store.insertKey(key('key_old1'), null);
      await store.insertKey(key('key_old2', { createdAt: 900 }), null);
      await store.insertKey(key('key_young', { createdAt: 5_000 }), null);
      await store.insertKey(key('key_revoked', { status: 'revoked' }), null);
      await store.insertKey(key('key_replaced', { replacedBy: 'key_x' }), null);
      await store.insertKey(key('key_expired', { expiresAt: 1_500 }), null);
      expect((await store.listKeyspacesWithRotation()).map((k) => k.id)).toEqual(['ks_rot00000000']);
      const candidates = await store.listRotationCandidates('ks_rot00000000', 2_000, 2_000, 10);
      expect(candidates.map((k) => k.id)).toEqual(['key_old2', 'key_old1']);
      const mark = {
        keyId: 'key_old1',
        workspaceId: 'ws_sched000000',
        dueAt: 3_601_000,
        graceEndsAt: 3_661_000,
      };
      expect(await store.markRotationDue(mark)).toBe(true);
      expect(await store.markRotationDue(mark)).toBe(false);
      expect(await store.getRotationDue('key_old1')).toEqual(mark);
      expect(
        (await store.listRotationCandidates('ks_rot00000000', 2_000, 2_000, 10)).map((k) => k.id),
      ).toEqual(['key_old2']);
    });
  });
}
