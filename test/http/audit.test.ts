import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/adapters/sql/schema.js';
import { type Harness, harness } from '../support/harness.js';
import { allAuditEntries, createKey, createKeyspace, expectProblem } from './fixtures.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The raw SQLite handle, to tamper with the log the way an attacker with file access would. */
function database(h: Harness): Kysely<Database> {
  return (h.services.store as unknown as { database: Kysely<Database> }).database;
}

describe('audit', () => {
  let h: Harness;
  let actor: string;
  beforeEach(async () => {
    h = await harness();
    actor = (await h.call('GET', '/v1/root-keys')).body.items[0].id;
  });
  afterEach(async () => h.close());

  async function latest() {
    return (await h.call('GET', '/v1/audit?limit=1')).body.items[0];
  }

  describe('every mutation writes an entry', () => {
    it('keyspace.created', async () => {
      const ks = await createKeyspace(h, { name: 'payments' });

      expect(await latest()).toMatchObject({
        action: 'keyspace.created',
        actor,
        targetType: 'keyspace',
        targetId: ks.id,
        data: expect.objectContaining({ name: 'payments' }),
      });
    });

    it('keyspace.updated', async () => {
      const ks = await createKeyspace(h);

      await h.call('PATCH', `/v1/keyspaces/${ks.id}`, { name: 'renamed' });

      expect(await latest()).toMatchObject({ action: 'keyspace.updated', actor, targetId: ks.id });
    });

    it('keyspace.deleted', async () => {
      const ks = await createKeyspace(h);

      await h.call('DELETE', `/v1/keyspaces/${ks.id}`);

      expect(await latest()).toMatchObject({ action: 'keyspace.deleted', actor, targetId: ks.id });
    });

    it('key.created', async () => {
      const ks = await createKeyspace(h);

      const key = await createKey(h, ks.id, { ownerId: 'user_1' });

      expect(await latest()).toMatchObject({
        action: 'key.created',
        actor,
        targetType: 'key',
        targetId: key.id,
        data: expect.objectContaining({ keyspaceId: ks.id, ownerId: 'user_1' }),
      });
    });

    it('key.updated', async () => {
      const key = await createKey(h, (await createKeyspace(h)).id);

      await h.call('PATCH', `/v1/keys/${key.id}`, { status: 'disabled' });

      expect(await latest()).toMatchObject({ action: 'key.updated', actor, targetId: key.id });
    });

    it('key.revoked, with the reason', async () => {
      const key = await createKey(h, (await createKeyspace(h)).id);

      await h.call('POST', `/v1/keys/${key.id}/revoke`, { reason: 'leaked in a log' });

      expect(await latest()).toMatchObject({
        action: 'key.revoked',
        actor,
        targetId: key.id,
        data: expect.objectContaining({ reason: 'leaked in a log' }),
      });
    });

    it('key.rotated, targeting the old key and naming the new one', async () => {
      const old = await createKey(h, (await createKeyspace(h)).id);

      const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 60 });

      expect(await latest()).toMatchObject({
        action: 'key.rotated',
        actor,
        targetType: 'key',
        targetId: old.id,
        data: expect.objectContaining({ newKeyId: rotated.body.id }),
      });
    });

    it('writes the times in key entries as ISO 8601, as the rest of the API does', async () => {
      const key = await createKey(h, (await createKeyspace(h)).id, { expiresAt: '2031-01-01T00:00:00.000Z' });
      expect((await latest()).data.expiresAt).toBe('2031-01-01T00:00:00.000Z');

      await h.call('PATCH', `/v1/keys/${key.id}`, { expiresAt: '2032-02-02T00:00:00.000Z' });
      expect((await latest()).data.expiresAt).toBe('2032-02-02T00:00:00.000Z');
      await h.call('PATCH', `/v1/keys/${key.id}`, { expiresAt: null });
      expect((await latest()).data).toHaveProperty('expiresAt', null);

      await h.call('POST', `/v1/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 });
      // The harness clock stands at 2026-01-15T12:00:00Z.
      expect((await latest()).data.oldKeyExpiresAt).toBe('2026-01-15T12:01:00.000Z');
    });

    it('key.deleted', async () => {
      const key = await createKey(h, (await createKeyspace(h)).id);

      await h.call('DELETE', `/v1/keys/${key.id}`);

      expect(await latest()).toMatchObject({ action: 'key.deleted', actor, targetId: key.id });
    });

    it('root_key.created', async () => {
      const res = await h.call('POST', '/v1/root-keys', { permissions: ['keys.verify'] });

      expect(await latest()).toMatchObject({
        action: 'root_key.created',
        actor,
        targetType: 'root_key',
        targetId: res.body.id,
        data: expect.objectContaining({ permissions: ['keys.verify'] }),
      });
    });

    it('root_key.revoked', async () => {
      const created = await h.call('POST', '/v1/root-keys', { permissions: ['keys.verify'] });

      await h.call('POST', `/v1/root-keys/${created.body.id}/revoke`);

      expect(await latest()).toMatchObject({ action: 'root_key.revoked', actor, targetId: created.body.id });
    });

    it('one entry per mutation, none for reads or verifications', async () => {
      const before = (await allAuditEntries(h)).length;
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id);
      await h.call('GET', `/v1/keys/${key.id}`);
      await h.call('GET', `/v1/keyspaces/${ks.id}/keys`);
      await h.call('POST', '/v1/keys/verify', { key: key.key });

      const after = await allAuditEntries(h);

      expect(after.slice(before).map((e) => e.action)).toEqual(['keyspace.created', 'key.created']);
    });
  });

  it('never contains a plaintext key or a key hash', async () => {
    const ks = await createKeyspace(h);
    const key = await createKey(h, ks.id);
    const rotated = await h.call('POST', `/v1/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 });
    await h.call('PATCH', `/v1/keys/${rotated.body.id}`, { name: 'renamed' });
    await h.call('POST', `/v1/keys/${rotated.body.id}/revoke`, {});
    const root = await h.call('POST', '/v1/root-keys', { permissions: ['keys.verify'] });

    const text = JSON.stringify(await allAuditEntries(h));

    for (const secret of [key.key, rotated.body.key, root.body.key, h.rootKey]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256(secret));
    }
  });

  describe('GET /v1/audit', () => {
    it('lists entries newest first, each chained to the one before', async () => {
      await createKeyspace(h);
      await createKeyspace(h);

      const entries = await allAuditEntries(h);

      expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
      expect(entries[0]?.prevHash).toBe('0'.repeat(64));
    });

    it('answers entries with every field of the contract', async () => {
      await createKeyspace(h);

      const entry = await latest();

      expect(entry).toEqual({
        seq: 3,
        at: '2026-01-15T12:00:00.000Z',
        actor,
        action: 'keyspace.created',
        targetType: 'keyspace',
        targetId: expect.stringMatching(/^ks_/),
        ip: expect.any(String),
        data: expect.any(Object),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('filters by exact action', async () => {
      const ks = await createKeyspace(h);
      await createKey(h, ks.id);
      await createKey(h, ks.id);

      const exact = await h.call('GET', '/v1/audit?action=key.created');
      const partial = await h.call('GET', '/v1/audit?action=key');

      expect(exact.body.items.map((e: { action: string }) => e.action)).toEqual([
        'key.created',
        'key.created',
      ]);
      expect(partial.body.items).toEqual([]);
    });

    it('filters by targetId', async () => {
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id);
      await createKey(h, ks.id);
      await h.call('PATCH', `/v1/keys/${key.id}`, { name: 'x' });

      const res = await h.call('GET', `/v1/audit?targetId=${key.id}`);

      expect(res.body.items.map((e: { action: string }) => e.action)).toEqual(['key.updated', 'key.created']);
    });

    it('pages with limit and cursor, nextCursor null on the last page', async () => {
      for (let i = 0; i < 3; i++) await createKeyspace(h);
      const first = await h.call('GET', '/v1/audit?limit=2');
      const second = await h.call('GET', `/v1/audit?limit=2&cursor=${first.body.nextCursor}`);

      const third = await h.call('GET', `/v1/audit?limit=2&cursor=${second.body.nextCursor}`);

      const seqs = [first, second, third].map((r) => r.body.items.map((e: { seq: number }) => e.seq));
      expect(seqs).toEqual([[5, 4], [3, 2], [1]]);
      expect(third.body.nextCursor).toBeNull();
    });

    it('refuses a bad cursor with 400 INVALID_CURSOR', async () => {
      const res = await h.call('GET', '/v1/audit?cursor=nonsense');

      expectProblem(res, 400, 'INVALID_CURSOR');
    });

    it.each(['0', '101'])('refuses limit=%s with 400', async (limit) => {
      const res = await h.call('GET', `/v1/audit?limit=${limit}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('shows only the caller’s workspace', async () => {
      const other = await h.rootKeyWith(['*'], 'other');
      const foreign = await createKeyspace(h, {}, other);

      const res = await h.call('GET', `/v1/audit?targetId=${foreign.id}`);

      expect(res.body.items).toEqual([]);
    });
  });

  describe('GET /v1/audit/verify', () => {
    it('answers ok with checked = the number of entries and firstBadSeq null', async () => {
      const ks = await createKeyspace(h);
      await createKey(h, ks.id);
      const count = (await allAuditEntries(h)).length;

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, checked: count, firstBadSeq: null });
    });

    it('checks only the caller’s workspace chain', async () => {
      const other = await h.rootKeyWith(['*'], 'other');
      await createKeyspace(h, {}, other);
      const count = (await allAuditEntries(h)).length;

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.body).toEqual({ ok: true, checked: count, firstBadSeq: null });
    });

    it('names the first edited entry after a row is changed in the database', async () => {
      for (let i = 0; i < 3; i++) await createKeyspace(h);
      await database(h).updateTable('audit_log').set({ data: '{}' }).where('seq', '=', 3).execute();

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.body).toEqual({ ok: false, checked: 2, firstBadSeq: 3 });
    });

    it('names the seq of a row deleted from the middle of the chain', async () => {
      for (let i = 0; i < 3; i++) await createKeyspace(h);
      await database(h).deleteFrom('audit_log').where('seq', '=', 3).execute();

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.body).toMatchObject({ ok: false, firstBadSeq: 3 });
    });

    it('notices the last entry deleted', async () => {
      for (let i = 0; i < 3; i++) await createKeyspace(h);
      await database(h).deleteFrom('audit_log').where('seq', '=', 5).execute();

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.body).toMatchObject({ ok: false, firstBadSeq: 5 });
    });

    it('notices an edited actor', async () => {
      await createKeyspace(h);
      await database(h)
        .updateTable('audit_log')
        .set({ actor: 'someone-else' })
        .where('seq', '=', 3)
        .execute();

      const res = await h.call('GET', '/v1/audit/verify');

      expect(res.body).toMatchObject({ ok: false, firstBadSeq: 3 });
    });
  });

  it('writes no entry for a mutation that failed', async () => {
    const ks = await createKeyspace(h, { name: 'taken' });
    await createKey(h, ks.id);
    const before = await allAuditEntries(h);

    await h.call('POST', '/v1/keyspaces', { name: 'taken' });
    await h.call('DELETE', `/v1/keyspaces/${ks.id}`);
    await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { restrictions: { ips: ['10.0.0.0/33'] } });

    expect(await allAuditEntries(h)).toEqual(before);
  });
});
