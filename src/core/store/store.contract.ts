import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord, KeyRecord, KeyspaceRecord, RootKeyRecord } from './records.js';
import { GENESIS_HASH, type Store, UniqueViolation } from './store.js';
import { keyRecord } from './testing/key-record.js';

/**
 * The one contract every store passes: memory, SQLite, and (next) PostgreSQL. Each test gets
 * a fresh, empty store from `open` and closes it afterwards.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: 'ws_aaaaaaaaaaaa', name: 'one', createdAt: 1 });
      await store.insertWorkspace({ id: 'ws_bbbbbbbbbbbb', name: 'two', createdAt: 2 });
    });
    afterEach(async () => store.close());

    const ks = (id: string, workspaceId = 'ws_aaaaaaaaaaaa', createdAt = 10): KeyspaceRecord => ({
      id,
      workspaceId,
      name: `name-${id}`,
      prefix: 'kw',
      defaults: { scopes: ['a'] },
      rotation: { gracePeriodSeconds: 60 },
      createdAt,
      updatedAt: createdAt,
    });
    const key = (id: string, over: Partial<KeyRecord> = {}): KeyRecord =>
      keyRecord(id, {
        ownerId: 'owner-1',
        meta: { plan: 'pro', nested: { a: [1, 2] } },
        scopes: ['docs.*'],
        ratelimits: [{ name: 'default', limit: 10, windowMs: 1000 }],
        restrictions: { ips: ['10.0.0.0/8'], origins: [] },
        ...over,
      });
    const rootKey = (id: string, workspaceId = 'ws_aaaaaaaaaaaa', createdAt = 5): RootKeyRecord => ({
      id,
      workspaceId,
      name: null,
      hash: `rk-hash-${id}`,
      start: 'kw_root_abcd',
      permissions: ['keys.verify'],
      createdAt,
      revokedAt: null,
    });

    it('finds workspaces by name and refuses a duplicate name', async () => {
      expect((await store.getWorkspaceByName('one'))?.id).toBe('ws_aaaaaaaaaaaa');
      expect(await store.getWorkspaceByName('three')).toBeUndefined();
      expect(await store.countWorkspaces()).toBe(2);
      await expect(
        store.insertWorkspace({ id: 'ws_cccccccccccc', name: 'one', createdAt: 3 }),
      ).rejects.toBeInstanceOf(UniqueViolation);
    });

    it('round-trips a keyspace and scopes every lookup to its workspace', async () => {
      await store.insertKeyspace(ks('ks_111111111111'));
      expect(await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111')).toEqual(ks('ks_111111111111'));
      expect(await store.getKeyspace('ws_bbbbbbbbbbbb', 'ks_111111111111')).toBeUndefined();
      expect((await store.getKeyspaceByName('ws_aaaaaaaaaaaa', 'name-ks_111111111111'))?.id).toBe(
        'ks_111111111111',
      );
      expect(await store.getKeyspaceByName('ws_bbbbbbbbbbbb', 'name-ks_111111111111')).toBeUndefined();
    });

    it('refuses two keyspaces with one name in a workspace but allows it across workspaces', async () => {
      await store.insertKeyspace(ks('ks_111111111111'));
      await expect(
        store.insertKeyspace({ ...ks('ks_222222222222'), name: 'name-ks_111111111111' }),
      ).rejects.toBeInstanceOf(UniqueViolation);
      await store.insertKeyspace({
        ...ks('ks_333333333333', 'ws_bbbbbbbbbbbb'),
        name: 'name-ks_111111111111',
      });
    });

    it('pages keyspaces newest first with a position cursor', async () => {
      for (let i = 0; i < 5; i++)
        await store.insertKeyspace(ks(`ks_00000000000${i}`, 'ws_aaaaaaaaaaaa', 10 + (i % 3)));
      const first = await store.listKeyspaces('ws_aaaaaaaaaaaa', { limit: 3 });
      const last = first[first.length - 1];
      if (!last) throw new Error('empty page');
      const second = await store.listKeyspaces('ws_aaaaaaaaaaaa', {
        limit: 3,
        after: { createdAt: last.createdAt, id: last.id },
      });
      const ids = [...first, ...second].map((k) => k.id);
      expect(ids).toHaveLength(5);
      expect(new Set(ids).size).toBe(5);
      const order = [...first, ...second].map((k) => [k.createdAt, k.id] as const);
      const sorted = [...order].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1));
      expect(order).toEqual(sorted);
      expect(await store.listKeyspaces('ws_bbbbbbbbbbbb', { limit: 10 })).toEqual([]);
    });

    it('updates and deletes a keyspace only within its workspace', async () => {
      await store.insertKeyspace(ks('ks_111111111111'));
      await store.updateKeyspace('ws_bbbbbbbbbbbb', 'ks_111111111111', { name: 'stolen', updatedAt: 50 });
      await store.deleteKeyspace('ws_bbbbbbbbbbbb', 'ks_111111111111');
      expect((await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111'))?.name).toBe(
        'name-ks_111111111111',
      );
      await store.updateKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111', {
        name: 'renamed',
        prefix: 'renamed',
        rotation: { maxAgeSeconds: 3600 },
        updatedAt: 50,
      });
      const updated = await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111');
      expect(updated).toMatchObject({
        name: 'renamed',
        prefix: 'renamed',
        rotation: { maxAgeSeconds: 3600 },
        updatedAt: 50,
      });
      await store.deleteKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111');
      expect(await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111')).toBeUndefined();
    });

    describe('keys', () => {
      beforeEach(async () => {
        await store.insertKeyspace(ks('ks_111111111111'));
      });

      it('round-trips every field of a key, with its credits', async () => {
        await store.insertKey(key('key_1'), { remaining: 5, refill: { amount: 10, interval: 'monthly' } });
        expect(await store.getKey('ws_aaaaaaaaaaaa', 'key_1')).toEqual({
          ...key('key_1'),
          credits: { remaining: 5, refill: { amount: 10, interval: 'monthly' } },
        });
        expect(await store.getKeyByHash('hash-key_1')).toEqual({
          ...key('key_1'),
          credits: { remaining: 5, refill: { amount: 10, interval: 'monthly' } },
        });
      });

      it('never returns a key to another workspace', async () => {
        await store.insertKey(key('key_1'), null);
        expect(await store.getKey('ws_bbbbbbbbbbbb', 'key_1')).toBeUndefined();
        await store.updateKey('ws_bbbbbbbbbbbb', 'key_1', { status: 'revoked', updatedAt: 200 });
        await store.deleteKey('ws_bbbbbbbbbbbb', 'key_1');
        expect((await store.getKey('ws_aaaaaaaaaaaa', 'key_1'))?.status).toBe('active');
      });

      it('refuses a second key with the same hash', async () => {
        await store.insertKey(key('key_1'), null);
        await expect(store.insertKey(key('key_2', { hash: 'hash-key_1' }), null)).rejects.toBeInstanceOf(
          UniqueViolation,
        );
      });

      it('applies a patch and leaves other fields alone', async () => {
        await store.insertKey(key('key_1'), null);
        await store.updateKey('ws_aaaaaaaaaaaa', 'key_1', {
          status: 'disabled',
          scopes: ['x'],
          expiresAt: 999,
          replacedBy: 'key_2',
          updatedAt: 300,
        });
        expect(await store.getKey('ws_aaaaaaaaaaaa', 'key_1')).toEqual({
          ...key('key_1'),
          status: 'disabled',
          scopes: ['x'],
          expiresAt: 999,
          replacedBy: 'key_2',
          updatedAt: 300,
          credits: null,
        });
      });

      it('shares one credit balance across a lineage and drops it with the last key', async () => {
        await store.insertKey(key('key_1'), { remaining: 7, refill: null });
        await store.insertKey(key('key_2', { lineageId: 'key_1', replaces: 'key_1' }), null);
        expect((await store.getKey('ws_aaaaaaaaaaaa', 'key_2'))?.credits).toEqual({
          remaining: 7,
          refill: null,
        });
        await store.setCredits('key_1', { remaining: 3, refill: null }, 200);
        expect((await store.getKey('ws_aaaaaaaaaaaa', 'key_1'))?.credits?.remaining).toBe(3);
        await store.deleteKey('ws_aaaaaaaaaaaa', 'key_1');
        expect((await store.getKey('ws_aaaaaaaaaaaa', 'key_2'))?.credits?.remaining).toBe(3);
        await store.deleteKey('ws_aaaaaaaaaaaa', 'key_2');
        await store.insertKey(key('key_3', { lineageId: 'key_1' }), null);
        expect((await store.getKey('ws_aaaaaaaaaaaa', 'key_3'))?.credits).toBeNull();
      });

      it('deletes a key so that its hash no longer resolves', async () => {
        await store.insertKey(key('key_1'), null);
        await store.deleteKey('ws_aaaaaaaaaaaa', 'key_1');
        expect(await store.getKeyByHash('hash-key_1')).toBeUndefined();
        expect(await store.countKeys('ws_aaaaaaaaaaaa', 'ks_111111111111')).toBe(0);
      });

      it('filters keys by owner and by effective status, expired included', async () => {
        await store.insertKey(key('key_1', { createdAt: 1 }), null);
        await store.insertKey(key('key_2', { ownerId: 'owner-2', createdAt: 2 }), null);
        await store.insertKey(key('key_3', { status: 'disabled', createdAt: 3 }), null);
        await store.insertKey(key('key_4', { expiresAt: 500, createdAt: 4 }), null);
        await store.insertKey(key('key_5', { status: 'revoked', expiresAt: 500, createdAt: 5 }), null);
        const list = async (f: {
          ownerId?: string;
          status?: 'active' | 'disabled' | 'revoked' | 'expired';
        }) =>
          (
            await store.listKeys(
              'ws_aaaaaaaaaaaa',
              { keyspaceId: 'ks_111111111111', now: 1000, ...f },
              { limit: 10 },
            )
          ).map((k) => k.id);
        expect(await list({})).toEqual(['key_5', 'key_4', 'key_3', 'key_2', 'key_1']);
        expect(await list({ ownerId: 'owner-2' })).toEqual(['key_2']);
        expect(await list({ status: 'active' })).toEqual(['key_2', 'key_1']);
        expect(await list({ status: 'expired' })).toEqual(['key_4']);
        expect(await list({ status: 'revoked' })).toEqual(['key_5']);
        expect(await list({ status: 'disabled' })).toEqual(['key_3']);
      });

      it('pages keys with a cursor, ties on createdAt broken by id', async () => {
        for (let i = 0; i < 7; i++)
          await store.insertKey(key(`key_${i}`, { createdAt: 100 + (i % 2) }), null);
        const seen: string[] = [];
        let after: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await store.listKeys(
            'ws_aaaaaaaaaaaa',
            { keyspaceId: 'ks_111111111111', now: 0 },
            { limit: 3, after },
          );
          seen.push(...page.map((k) => k.id));
          const last = page[page.length - 1];
          if (page.length < 3 || !last) break;
          after = { createdAt: last.createdAt, id: last.id };
        }
        expect(seen).toEqual(['key_5', 'key_3', 'key_1', 'key_6', 'key_4', 'key_2', 'key_0']);
      });
    });

    describe('root keys', () => {
      it('finds a root key by hash, lists it in its workspace only, and revokes it', async () => {
        await store.insertRootKey(rootKey('rk_1'));
        await store.insertRootKey(rootKey('rk_2', 'ws_bbbbbbbbbbbb'));
        expect(await store.getRootKeyByHash('rk-hash-rk_1')).toEqual(rootKey('rk_1'));
        expect((await store.listRootKeys('ws_aaaaaaaaaaaa', { limit: 10 })).map((r) => r.id)).toEqual([
          'rk_1',
        ]);
        expect(await store.getRootKey('ws_bbbbbbbbbbbb', 'rk_1')).toBeUndefined();
        await store.revokeRootKey('ws_bbbbbbbbbbbb', 'rk_1', 77);
        expect((await store.getRootKey('ws_aaaaaaaaaaaa', 'rk_1'))?.revokedAt).toBeNull();
        await store.revokeRootKey('ws_aaaaaaaaaaaa', 'rk_1', 77);
        expect((await store.getRootKey('ws_aaaaaaaaaaaa', 'rk_1'))?.revokedAt).toBe(77);
      });
    });

    describe('audit chain', () => {
      const append = async (workspaceId: string, action: string, targetId = 't1'): Promise<AuditRecord> =>
        store.transaction(async (tx) => {
          const { seq, prevHash } = await tx.nextAuditLink(workspaceId);
          const e: AuditRecord = {
            workspaceId,
            seq,
            at: seq * 10,
            actor: 'rk_1',
            action,
            targetType: 'key',
            targetId,
            ip: null,
            data: { n: seq },
            prevHash,
            hash: `h${seq}-${workspaceId}`,
          };
          await tx.insertAuditEntry(e);
          return e;
        });

      it('links each entry to the one before, one chain per workspace', async () => {
        const a1 = await append('ws_aaaaaaaaaaaa', 'key.created');
        const a2 = await append('ws_aaaaaaaaaaaa', 'key.revoked');
        const b1 = await append('ws_bbbbbbbbbbbb', 'key.created');
        expect([a1.seq, a1.prevHash, a2.seq, a2.prevHash]).toEqual([1, GENESIS_HASH, 2, a1.hash]);
        expect([b1.seq, b1.prevHash]).toEqual([1, GENESIS_HASH]);
        expect(await store.auditHead('ws_aaaaaaaaaaaa')).toEqual({ seq: 2, hash: a2.hash });
        expect(await store.scanAudit('ws_aaaaaaaaaaaa', 1, 10)).toEqual([a1, a2]);
      });

      it('lists newest first with exact action and target filters and a seq cursor', async () => {
        await append('ws_aaaaaaaaaaaa', 'key.created', 'k1');
        await append('ws_aaaaaaaaaaaa', 'key.created', 'k2');
        await append('ws_aaaaaaaaaaaa', 'key.revoked', 'k1');
        await append('ws_aaaaaaaaaaaa', 'key.created.extra', 'k3');
        const seqs = async (f: { action?: string; targetId?: string; beforeSeq?: number }) =>
          (await store.listAudit('ws_aaaaaaaaaaaa', { limit: 10, ...f })).map((e) => e.seq);
        expect(await seqs({})).toEqual([4, 3, 2, 1]);
        expect(await seqs({ action: 'key.created' })).toEqual([2, 1]);
        expect(await seqs({ targetId: 'k1' })).toEqual([3, 1]);
        expect(await seqs({ beforeSeq: 3 })).toEqual([2, 1]);
        expect(await store.listAudit('ws_bbbbbbbbbbbb', { limit: 10 })).toEqual([]);
      });

      it('rolls back the entry with the transaction that wrote it', async () => {
        await append('ws_aaaaaaaaaaaa', 'key.created');
        await expect(
          store.transaction(async (tx) => {
            const { seq, prevHash } = await tx.nextAuditLink('ws_aaaaaaaaaaaa');
            await tx.insertAuditEntry({
              workspaceId: 'ws_aaaaaaaaaaaa',
              seq,
              at: 1,
              actor: 'x',
              action: 'key.revoked',
              targetType: 'key',
              targetId: 't',
              ip: null,
              data: {},
              prevHash,
              hash: 'doomed',
            });
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.auditHead('ws_aaaaaaaaaaaa')).toMatchObject({ seq: 1 });
        const next = await append('ws_aaaaaaaaaaaa', 'key.updated');
        expect(next.seq).toBe(2);
      });

      it('keeps the chain linear when many writers append at once', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => append('ws_aaaaaaaaaaaa', `a.${i}`)));
        const entries = await store.scanAudit('ws_aaaaaaaaaaaa', 1, 100);
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
      });
    });

    it('keeps outbox events per workspace, newest first, filterable by type', async () => {
      const ev = (id: string, workspaceId: string, type: string, createdAt: number) => ({
        id,
        workspaceId,
        type,
        data: { keyId: id, nested: { n: createdAt } },
        createdAt,
      });
      await store.recordEvent(ev('evt_1', 'ws_aaaaaaaaaaaa', 'key.revoked', 1));
      await store.recordEvent(ev('evt_2', 'ws_aaaaaaaaaaaa', 'credits.low', 2));
      await store.recordEvent(ev('evt_3', 'ws_bbbbbbbbbbbb', 'key.revoked', 3));
      expect(await store.listEvents('ws_aaaaaaaaaaaa', { limit: 10 })).toEqual([
        ev('evt_2', 'ws_aaaaaaaaaaaa', 'credits.low', 2),
        ev('evt_1', 'ws_aaaaaaaaaaaa', 'key.revoked', 1),
      ]);
      expect(
        (await store.listEvents('ws_aaaaaaaaaaaa', { type: 'key.revoked', limit: 10 })).map((e) => e.id),
      ).toEqual(['evt_1']);
    });

    it('commits everything a transaction wrote, or nothing', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.insertKeyspace(ks('ks_111111111111'));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111')).toBeUndefined();
      await store.transaction(async (tx) => tx.insertKeyspace(ks('ks_111111111111')));
      expect(await store.getKeyspace('ws_aaaaaaaaaaaa', 'ks_111111111111')).toBeDefined();
    });
  });
}
