import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, expectProblem, UNKNOWN_ID } from './fixtures.js';

describe('keyspaces', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  describe('POST /v1/keyspaces', () => {
    it('creates a keyspace with the default prefix kw and answers 201 with it', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments' });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^ks_[0-9A-Za-z]+$/),
        name: 'payments',
        prefix: 'kw',
        defaults: {},
        rotation: {},
        createdAt: '2026-01-15T12:00:00.000Z',
        updatedAt: '2026-01-15T12:00:00.000Z',
      });
    });

    it('keeps the prefix, defaults and rotation policy it was given', async () => {
      const body = {
        name: 'payments',
        prefix: 'pay_live',
        defaults: {
          scopes: ['charges.read'],
          expiresInSeconds: 86400,
          ratelimits: [{ name: 'per-second', limit: 10, windowMs: 1000 }],
        },
        rotation: { maxAgeSeconds: 7776000, gracePeriodSeconds: 3600, selfRotation: true },
      };

      const res = await h.call('POST', '/v1/keyspaces', body);

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject(body);
    });

    it('refuses a second keyspace of the same name with 409 KEYSPACE_NAME_TAKEN', async () => {
      await createKeyspace(h, { name: 'payments' });

      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments' });

      expectProblem(res, 409, 'KEYSPACE_NAME_TAKEN');
    });

    it('creates one keyspace when the same name is sent concurrently, and answers the rest 409', async () => {
      const answers = await Promise.all(
        [1, 2, 3].map(() => h.call('POST', '/v1/keyspaces', { name: 'dup' })),
      );

      expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      expect((await h.call('GET', '/v1/keyspaces')).body.items).toHaveLength(1);
    });

    it('allows the same name in another workspace', async () => {
      await createKeyspace(h, { name: 'payments' });
      const other = await h.rootKeyWith(['*'], 'other');

      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments' }, other);

      expect(res.status).toBe(201);
    });

    it.each([
      ['starting with a digit', '1abc'],
      ['with upper case', 'Acme'],
      ['with a dash', 'ac-me'],
      ['longer than 20 characters', 'a'.repeat(21)],
      ['empty', ''],
    ])('refuses a prefix %s with 400', async (_, prefix) => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments', prefix });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('refuses a missing name with 400 naming the field', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { prefix: 'acme' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toContainEqual({ path: '/name', message: 'is required' });
    });
  });

  describe('GET /v1/keyspaces/{id}', () => {
    it('answers the keyspace as it was created', async () => {
      const created = await createKeyspace(h, { prefix: 'acme' });

      const res = await h.call('GET', `/v1/keyspaces/${created.id}`);

      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    });

    it('answers 404 NOT_FOUND for an id that names nothing', async () => {
      const res = await h.call('GET', `/v1/keyspaces/${UNKNOWN_ID.keyspace}`);

      expectProblem(res, 404, 'NOT_FOUND');
    });
  });

  describe('GET /v1/keyspaces', () => {
    it('lists keyspaces newest first with a null nextCursor on the last page', async () => {
      const a = await createKeyspace(h);
      h.clock.advance(1);
      const b = await createKeyspace(h);

      const res = await h.call('GET', '/v1/keyspaces');

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [b, a], nextCursor: null });
    });

    it('pages with limit and cursor', async () => {
      const created = [];
      for (let i = 0; i < 3; i++) {
        created.push(await createKeyspace(h));
        h.clock.advance(1);
      }
      const first = await h.call('GET', '/v1/keyspaces?limit=2');

      const second = await h.call('GET', `/v1/keyspaces?limit=2&cursor=${first.body.nextCursor}`);

      expect(first.body.items.map((k: { id: string }) => k.id)).toEqual([created[2]?.id, created[1]?.id]);
      expect(second.body).toEqual({ items: [created[0]], nextCursor: null });
    });

    it('does not list the keyspaces of another workspace', async () => {
      const other = await h.rootKeyWith(['*'], 'other');
      await createKeyspace(h, {}, other);

      const res = await h.call('GET', '/v1/keyspaces');

      expect(res.body).toEqual({ items: [], nextCursor: null });
    });
  });

  describe('PATCH /v1/keyspaces/{id}', () => {
    it('renames a keyspace and changes its defaults', async () => {
      const ks = await createKeyspace(h);
      h.clock.advance(5000);

      const res = await h.call('PATCH', `/v1/keyspaces/${ks.id}`, {
        name: 'renamed',
        defaults: { scopes: ['read'] },
      });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: ks.id,
        name: 'renamed',
        defaults: { scopes: ['read'] },
        updatedAt: '2026-01-15T12:00:05.000Z',
      });
      expect((await h.call('GET', `/v1/keyspaces/${ks.id}`)).body).toEqual(res.body);
    });

    it('applies new defaults to keys issued afterwards', async () => {
      const ks = await createKeyspace(h);
      await h.call('PATCH', `/v1/keyspaces/${ks.id}`, { defaults: { scopes: ['docs.read'] } });

      const key = await createKey(h, ks.id);

      expect(key.scopes).toEqual(['docs.read']);
    });

    it('persists a new prefix, which applies to keys issued afterwards', async () => {
      const ks = await createKeyspace(h);
      await h.call('PATCH', `/v1/keyspaces/${ks.id}`, { prefix: 'acme' });

      const key = await createKey(h, ks.id);

      expect(key.key).toMatch(/^acme_[0-9A-Za-z]{38}$/);
    });

    it('refuses a rename onto the name of another keyspace with 409', async () => {
      await createKeyspace(h, { name: 'taken' });
      const ks = await createKeyspace(h);

      const res = await h.call('PATCH', `/v1/keyspaces/${ks.id}`, { name: 'taken' });

      expectProblem(res, 409, 'KEYSPACE_NAME_TAKEN');
    });

    it('accepts a keyspace renamed to its own name', async () => {
      const ks = await createKeyspace(h);

      const res = await h.call('PATCH', `/v1/keyspaces/${ks.id}`, { name: ks.name });

      expect(res.status).toBe(200);
    });

    it('refuses an empty patch with 400', async () => {
      const ks = await createKeyspace(h);

      const res = await h.call('PATCH', `/v1/keyspaces/${ks.id}`, {});

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('DELETE /v1/keyspaces/{id}', () => {
    it('deletes an empty keyspace: 204, then GET answers 404', async () => {
      const ks = await createKeyspace(h);

      const res = await h.call('DELETE', `/v1/keyspaces/${ks.id}`);

      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      expectProblem(await h.call('GET', `/v1/keyspaces/${ks.id}`), 404, 'NOT_FOUND');
    });

    it('refuses to delete a keyspace that still has keys with 409 KEYSPACE_NOT_EMPTY', async () => {
      const ks = await createKeyspace(h);
      await createKey(h, ks.id);

      const res = await h.call('DELETE', `/v1/keyspaces/${ks.id}`);

      expectProblem(res, 409, 'KEYSPACE_NOT_EMPTY');
      expect((await h.call('GET', `/v1/keyspaces/${ks.id}`)).status).toBe(200);
    });

    it('frees the name for a new keyspace', async () => {
      const ks = await createKeyspace(h, { name: 'payments' });
      await h.call('DELETE', `/v1/keyspaces/${ks.id}`);

      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments' });

      expect(res.status).toBe(201);
    });
  });
});
