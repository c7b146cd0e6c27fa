import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import {
  contractChecksum,
  createKey,
  createKeyspace,
  DAY,
  expectProblem,
  HOUR,
  UNKNOWN_ID,
  verify,
} from './fixtures.js';

const KEY_FIELDS = [
  'id',
  'keyspaceId',
  'start',
  'name',
  'ownerId',
  'meta',
  'scopes',
  'status',
  'expiresAt',
  'createdAt',
  'lastUsedAt',
  'credits',
  'ratelimits',
  'restrictions',
  'replaces',
  'replacedBy',
];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('keys', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness();
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  describe('POST /v1/keyspaces/{id}/keys', () => {
    it('issues a key with the keyspace defaults when the request has no body, or an empty one', async () => {
      for (const headers of [{}, { 'content-type': 'application/json' }]) {
        const res = await h.app.inject({
          method: 'POST',
          url: `/v1/keyspaces/${ks.id}/keys`,
          headers: { authorization: `Bearer ${h.rootKey}`, ...headers },
        });

        expect(res.statusCode).toBe(201);
        const body = JSON.parse(res.body);
        expect(body).toMatchObject({ keyspaceId: ks.id, name: null, scopes: [], status: 'active' });
        expect((await h.call('POST', '/v1/keys/verify', { key: body.key })).body.code).toBe('VALID');
      }
    });

    it('answers 201 with every field of the key object plus the plaintext key', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {
        name: 'ci',
        ownerId: 'user_1',
        meta: { plan: 'pro' },
      });

      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(expect.arrayContaining([...KEY_FIELDS, 'key']));
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^key_[0-9A-Za-z]+$/),
        keyspaceId: ks.id,
        name: 'ci',
        ownerId: 'user_1',
        meta: { plan: 'pro' },
        scopes: [],
        status: 'active',
        expiresAt: null,
        createdAt: '2026-01-15T12:00:00.000Z',
        lastUsedAt: null,
        credits: null,
        ratelimits: [],
        restrictions: { ips: [], origins: [] },
        replaces: null,
        replacedBy: null,
      });
    });

    it('issues <prefix>_<32 random><6 checksum> with a CRC-32 base62 checksum and start = prefix_ + 4', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {});

      const key: string = res.body.key;
      expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
      expect(key.slice(-6)).toBe(contractChecksum(key.slice(0, -6)));
      expect(res.body.start).toBe(key.slice(0, 'kw_'.length + 4));
    });

    it('uses the keyspace prefix, underscores included', async () => {
      const live = await createKeyspace(h, { prefix: 'acme_live' });

      const res = await h.call('POST', `/v1/keyspaces/${live.id}/keys`, {});

      expect(res.body.key).toMatch(/^acme_live_[0-9A-Za-z]{38}$/);
      expect(res.body.start).toBe(res.body.key.slice(0, 'acme_live_'.length + 4));
    });

    it('issues a different key every time', async () => {
      const a = await createKey(h, ks.id);

      const b = await createKey(h, ks.id);

      expect(a.key).not.toBe(b.key);
    });

    it('takes scopes and expiry from the keyspace defaults', async () => {
      const withDefaults = await createKeyspace(h, {
        defaults: { scopes: ['docs.read'], expiresInSeconds: 3600 },
      });

      const res = await h.call('POST', `/v1/keyspaces/${withDefaults.id}/keys`, {});

      expect(res.body).toMatchObject({ scopes: ['docs.read'], expiresAt: '2026-01-15T13:00:00.000Z' });
    });

    it('lets explicit scopes and expiry override the keyspace defaults', async () => {
      const withDefaults = await createKeyspace(h, {
        defaults: { scopes: ['docs.read'], expiresInSeconds: 3600 },
      });

      const res = await h.call('POST', `/v1/keyspaces/${withDefaults.id}/keys`, {
        scopes: ['billing.read'],
        expiresAt: null,
      });

      expect(res.body).toMatchObject({ scopes: ['billing.read'], expiresAt: null });
    });

    it('takes rate limits from the keyspace defaults', async () => {
      const ratelimits = [{ name: 'per-minute', limit: 60, windowMs: 60000 }];
      const withDefaults = await createKeyspace(h, { defaults: { ratelimits } });

      const res = await h.call('POST', `/v1/keyspaces/${withDefaults.id}/keys`, {});

      expect(res.body.ratelimits).toEqual(ratelimits);
    });

    it('keeps credits, restrictions and an expiry with milliseconds', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {
        credits: { remaining: 100, refill: { amount: 100, interval: 'monthly' } },
        restrictions: { ips: ['10.0.0.0/8'], origins: ['https://App.Example.com:443'] },
        expiresAt: '2026-02-01T00:00:00.123Z',
      });

      expect(res.body).toMatchObject({
        credits: { remaining: 100, refill: { amount: 100, interval: 'monthly' } },
        restrictions: { ips: ['10.0.0.0/8'], origins: ['https://app.example.com'] },
        expiresAt: '2026-02-01T00:00:00.123Z',
      });
    });

    it('refuses an expiry in the past with 400', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {
        expiresAt: '2026-01-15T11:59:59.000Z',
      });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('refuses a granted scope that is not a scope name with 400', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { scopes: ['docs read'] });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('refuses meta nested deeper than any real use with 400, not a 500', async () => {
      const deep = `${'['.repeat(20000)}${']'.repeat(20000)}`;

      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, `{"meta":{"x":${deep}}}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path: '/meta', message: expect.any(String) }]);
    });

    it('answers 404 for a keyspace that does not exist', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${UNKNOWN_ID.keyspace}/keys`, {});

      expectProblem(res, 404, 'NOT_FOUND');
    });
  });

  describe('GET /v1/keys/{id}', () => {
    it('answers the key object without the plaintext or its hash', async () => {
      const created = await createKey(h, ks.id, { ownerId: 'user_1' });

      const res = await h.call('GET', `/v1/keys/${created.id}`);

      expect(res.status).toBe(200);
      const { key: plaintext, ...view } = created;
      expect(res.body).toEqual(view);
      expect(res.body).not.toHaveProperty('key');
      expect(res.body).not.toHaveProperty('hash');
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(plaintext);
      expect(text).not.toContain(sha256(plaintext));
    });

    it('answers 404 NOT_FOUND for an id that names nothing', async () => {
      const res = await h.call('GET', `/v1/keys/${UNKNOWN_ID.key}`);

      expectProblem(res, 404, 'NOT_FOUND');
    });

    it('shows status expired once the clock passes expiresAt', async () => {
      const created = await createKey(h, ks.id, { expiresAt: '2026-01-15T13:00:00.000Z' });
      h.clock.advance(HOUR);

      const res = await h.call('GET', `/v1/keys/${created.id}`);

      expect(res.body.status).toBe('expired');
    });
  });

  describe('GET /v1/keyspaces/{id}/keys', () => {
    it('lists keys without the plaintext or any hash', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys`);

      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.items[0]).not.toHaveProperty('key');
      expect(res.body.items[0]).not.toHaveProperty('hash');
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(created.key);
      expect(text).not.toContain(sha256(created.key));
    });

    it('filters by ownerId', async () => {
      const mine = await createKey(h, ks.id, { ownerId: 'alice' });
      await createKey(h, ks.id, { ownerId: 'bob' });

      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?ownerId=alice`);

      expect(res.body.items.map((k: { id: string }) => k.id)).toEqual([mine.id]);
    });

    describe('filters by status', () => {
      let ids: Record<string, string>;
      beforeEach(async () => {
        const active = await createKey(h, ks.id);
        const disabled = await createKey(h, ks.id);
        await h.call('PATCH', `/v1/keys/${disabled.id}`, { status: 'disabled' });
        const revoked = await createKey(h, ks.id);
        await h.call('POST', `/v1/keys/${revoked.id}/revoke`, {});
        const expired = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:00:01.000Z' });
        h.clock.advance(1000);
        ids = { active: active.id, disabled: disabled.id, revoked: revoked.id, expired: expired.id };
      });

      it.each(['active', 'disabled', 'revoked', 'expired'])(
        'status=%s lists exactly those keys',
        async (status) => {
          const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?status=${status}`);

          expect(res.body.items.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([
            [ids[status], status],
          ]);
        },
      );
    });

    it('pages newest first with limit and cursor, and a null nextCursor on the last page', async () => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        created.push((await createKey(h, ks.id)).id);
        h.clock.advance(1);
      }
      const seen: string[] = [];
      const cursors: Array<string | null> = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await h.call(
          'GET',
          `/v1/keyspaces/${ks.id}/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...res.body.items.map((k) => k.id));
        cursor = res.body.nextCursor;
        cursors.push(cursor);
      } while (cursor);

      expect(seen).toEqual(created.reverse());
      expect(cursors).toEqual([expect.any(String), expect.any(String), null]);
    });

    it('answers nextCursor null when the last page is exactly full', async () => {
      await createKey(h, ks.id);
      await createKey(h, ks.id);

      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?limit=2`);

      expect(res.body.items).toHaveLength(2);
      expect(res.body.nextCursor).toBeNull();
    });

    it('returns 20 items by default', async () => {
      for (let i = 0; i < 21; i++) await createKey(h, ks.id);

      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys`);

      expect(res.body.items).toHaveLength(20);
      expect(res.body.nextCursor).toEqual(expect.any(String));
    });

    it.each(['0', '101', '-1', '1.5', 'ten'])('refuses limit=%s with 400', async (limit) => {
      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?limit=${limit}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['garbage', 'not-a-cursor'],
      ['valid base64 of the wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    ])('refuses a cursor that is %s with 400 INVALID_CURSOR', async (_, cursor) => {
      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?cursor=${cursor}`);

      expectProblem(res, 400, 'INVALID_CURSOR');
    });

    it('answers the first page for an empty cursor=, as for none', async () => {
      await createKey(h, ks.id, { name: 'only' });

      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?cursor=`);

      expect(res.status).toBe(200);
      expect(res.body.items).toEqual((await h.call('GET', `/v1/keyspaces/${ks.id}/keys`)).body.items);
      expect(res.body.items).toHaveLength(1);
    });

    it('refuses an unknown status with 400', async () => {
      const res = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?status=deleted`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('PATCH /v1/keys/{id}', () => {
    it('disables a key: the very next verification answers DISABLED', async () => {
      const created = await createKey(h, ks.id);
      expect((await verify(h, { key: created.key })).code).toBe('VALID');

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });

      expect(res.body.status).toBe('disabled');
      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'DISABLED' });
    });

    it('re-enables a disabled key: the very next verification answers VALID', async () => {
      const created = await createKey(h, ks.id);
      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });
      expect((await verify(h, { key: created.key })).code).toBe('DISABLED');

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'active' });

      expect(res.body.status).toBe('active');
      expect(await verify(h, { key: created.key })).toMatchObject({ valid: true, code: 'VALID' });
    });

    it('changes scopes with effect on the very next verification', async () => {
      const created = await createKey(h, ks.id, { scopes: ['docs.read'] });
      expect((await verify(h, { key: created.key, scopes: 'docs.write' })).code).toBe('INSUFFICIENT_SCOPES');

      await h.call('PATCH', `/v1/keys/${created.id}`, { scopes: ['docs.write'] });

      expect((await verify(h, { key: created.key, scopes: 'docs.write' })).code).toBe('VALID');
    });

    it('changes name, owner and meta and shows them on GET', async () => {
      const created = await createKey(h, ks.id);

      await h.call('PATCH', `/v1/keys/${created.id}`, { name: 'n', ownerId: 'o', meta: { a: 1 } });

      expect((await h.call('GET', `/v1/keys/${created.id}`)).body).toMatchObject({
        name: 'n',
        ownerId: 'o',
        meta: { a: 1 },
      });
    });

    it('sets credits with { remaining }', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { credits: { remaining: 50 } });

      expect(res.body.credits).toEqual({ remaining: 50, refill: null });
    });

    it('adds to credits with { increment }', async () => {
      const created = await createKey(h, ks.id, { credits: { remaining: 10 } });

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { credits: { increment: 5 } });

      expect(res.body.credits).toEqual({ remaining: 15, refill: null });
      expect((await h.call('GET', `/v1/keys/${created.id}`)).body.credits.remaining).toBe(15);
    });

    it('counts every one of concurrent increments', async () => {
      const created = await createKey(h, ks.id, { credits: { remaining: 0 } });

      await Promise.all(
        Array.from({ length: 20 }, () =>
          h.call('PATCH', `/v1/keys/${created.id}`, { credits: { increment: 1 } }),
        ),
      );

      expect((await h.call('GET', `/v1/keys/${created.id}`)).body.credits.remaining).toBe(20);
    });

    it('refuses { increment } on a key without credits with 400', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { credits: { increment: 5 } });

      expectProblem(res, 400);
    });

    it('refuses { remaining } and { increment } together with 400', async () => {
      const created = await createKey(h, ks.id, { credits: { remaining: 10 } });

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, {
        credits: { remaining: 1, increment: 5 },
      });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('refuses status revoked (revocation has its own route) with 400', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'revoked' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('POST /v1/keys/{id}/revoke', () => {
    it('revokes a key: status revoked, and the very next verification answers REVOKED', async () => {
      const created = await createKey(h, ks.id);
      expect((await verify(h, { key: created.key })).code).toBe('VALID');

      const res = await h.call('POST', `/v1/keys/${created.id}/revoke`, { reason: 'leaked' });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: created.id, status: 'revoked' });
      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'REVOKED' });
    });

    it('accepts a request without a body', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('POST', `/v1/keys/${created.id}/revoke`);

      expect(res.status).toBe(200);
      expect(res.body.status).toBe('revoked');
    });

    it('refuses an unknown field in the body with 400', async () => {
      const created = await createKey(h, ks.id);

      const res = await h.call('POST', `/v1/keys/${created.id}/revoke`, { because: 'leaked' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect((await h.call('GET', `/v1/keys/${created.id}`)).body.status).toBe('active');
    });

    it('is final: enabling a revoked key answers 409', async () => {
      const created = await createKey(h, ks.id);
      await h.call('POST', `/v1/keys/${created.id}/revoke`, {});

      const res = await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'active' });

      expectProblem(res, 409);
      expect((await verify(h, { key: created.key })).code).toBe('REVOKED');
    });

    it('keeps a revoked key revoked when the request is repeated', async () => {
      const created = await createKey(h, ks.id);
      await h.call('POST', `/v1/keys/${created.id}/revoke`, {});

      const res = await h.call('POST', `/v1/keys/${created.id}/revoke`, {});

      expect(res.status).toBe(200);
      expect(res.body.status).toBe('revoked');
    });
  });

  describe('DELETE /v1/keys/{id}', () => {
    it('deletes a key: 204, then GET answers 404 and verification NOT_FOUND', async () => {
      const created = await createKey(h, ks.id);
      expect((await verify(h, { key: created.key })).code).toBe('VALID');

      const res = await h.call('DELETE', `/v1/keys/${created.id}`);

      expect(res.status).toBe(204);
      expectProblem(await h.call('GET', `/v1/keys/${created.id}`), 404, 'NOT_FOUND');
      expect(await verify(h, { key: created.key })).toEqual({ valid: false, code: 'NOT_FOUND' });
    });

    it('answers 404 for a key already deleted', async () => {
      const created = await createKey(h, ks.id);
      await h.call('DELETE', `/v1/keys/${created.id}`);

      const res = await h.call('DELETE', `/v1/keys/${created.id}`);

      expectProblem(res, 404, 'NOT_FOUND');
    });

    it('leaves the keyspace empty enough to delete', async () => {
      const created = await createKey(h, ks.id);
      await h.call('DELETE', `/v1/keys/${created.id}`);

      const res = await h.call('DELETE', `/v1/keyspaces/${ks.id}`);

      expect(res.status).toBe(204);
    });
  });

  it('keeps an expiry set through PATCH: the key expires when the clock passes it', async () => {
    const created = await createKey(h, ks.id);
    await h.call('PATCH', `/v1/keys/${created.id}`, { expiresAt: '2026-01-16T12:00:00.000Z' });

    h.clock.advance(DAY);

    expect((await verify(h, { key: created.key })).code).toBe('EXPIRED');
  });
});
