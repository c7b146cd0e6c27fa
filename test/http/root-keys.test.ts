import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { contractChecksum, createKeyspace, expectProblem, UNKNOWN_ID } from './fixtures.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('root keys', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  describe('POST /v1/root-keys', () => {
    it('answers 201 with id, the plaintext key this once, and the permissions', async () => {
      const res = await h.call('POST', '/v1/root-keys', { name: 'ci', permissions: ['keys.verify'] });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^rk_[0-9A-Za-z]+$/),
        name: 'ci',
        key: expect.stringMatching(/^kw_root_[0-9A-Za-z]{38}$/),
        permissions: ['keys.verify'],
      });
      expect(res.body.key.slice(-6)).toBe(contractChecksum(res.body.key.slice(0, -6)));
    });

    it('issues a key that works at once, with exactly its permissions', async () => {
      const created = await h.call('POST', '/v1/root-keys', { permissions: ['keyspaces.read'] });

      const read = await h.call('GET', '/v1/keyspaces', undefined, created.body.key);
      const write = await h.call('POST', '/v1/keyspaces', { name: 'x' }, created.body.key);

      expect(read.status).toBe(200);
      expectProblem(write, 403, 'PERMISSION_DENIED');
    });

    it('lets a root key grant permissions it holds', async () => {
      const delegator = await h.rootKeyWith(['root_keys.write', 'keys.read']);

      const res = await h.call('POST', '/v1/root-keys', { permissions: ['keys.read'] }, delegator);

      expect(res.status).toBe(201);
    });

    it('lets a root key grant a narrowed form of a keys permission it holds', async () => {
      const ks = await createKeyspace(h);
      const delegator = await h.rootKeyWith(['root_keys.write', 'keys.verify']);

      const res = await h.call('POST', '/v1/root-keys', { permissions: [`keys.verify:${ks.id}`] }, delegator);

      expect(res.status).toBe(201);
    });

    it.each([
      ['a permission it lacks', ['keys.create']],
      ['*', ['*']],
      ['one held and one lacking', ['keys.read', 'keys.delete']],
    ])('refuses to grant %s with 403', async (_, permissions) => {
      const delegator = await h.rootKeyWith(['root_keys.write', 'keys.read']);

      const res = await h.call('POST', '/v1/root-keys', { permissions }, delegator);

      expectProblem(res, 403, 'PERMISSION_DENIED');
    });

    it('refuses a narrowed key from granting the whole permission with 403', async () => {
      const ks = await createKeyspace(h);
      const delegator = await h.rootKeyWith(['root_keys.write', `keys.read:${ks.id}`]);

      const res = await h.call('POST', '/v1/root-keys', { permissions: ['keys.read'] }, delegator);

      expectProblem(res, 403, 'PERMISSION_DENIED');
    });

    it.each([
      ['an unknown permission', ['keys.fly']],
      ['a keys permission narrowed to a non-id', ['keys.read:everything']],
      ['a non-keys permission narrowed', ['audit.read:ks_0000000000']],
      ['an empty list', []],
      ['an empty string', ['']],
    ])('refuses %s with 400', async (_, permissions) => {
      const res = await h.call('POST', '/v1/root-keys', { permissions });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([
        { path: expect.stringMatching(/^\/permissions/), message: expect.any(String) },
      ]);
    });

    it('refuses a root key without root_keys.write with 403', async () => {
      const weak = await h.rootKeyWith(['keys.read']);

      const res = await h.call('POST', '/v1/root-keys', { permissions: ['keys.read'] }, weak);

      expectProblem(res, 403, 'PERMISSION_DENIED');
    });
  });

  describe('GET /v1/root-keys', () => {
    it('lists root keys newest first without any plaintext or hash', async () => {
      h.clock.advance(1);
      const created = await h.call('POST', '/v1/root-keys', { name: 'ci', permissions: ['keys.verify'] });

      const res = await h.call('GET', '/v1/root-keys');

      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items).toEqual([
        {
          id: created.body.id,
          name: 'ci',
          start: created.body.key.slice(0, 'kw_root_'.length + 4),
          permissions: ['keys.verify'],
          createdAt: '2026-01-15T12:00:00.001Z',
          revokedAt: null,
        },
        expect.objectContaining({ name: 'bootstrap', permissions: ['*'] }),
      ]);
      const text = JSON.stringify(res.body);
      for (const secret of [created.body.key, h.rootKey]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(sha256(secret));
      }
    });

    it('does not list the root keys of another workspace', async () => {
      await h.rootKeyWith(['*'], 'other');

      const res = await h.call('GET', '/v1/root-keys');

      expect(res.body.items).toHaveLength(1);
    });
  });

  describe('POST /v1/root-keys/{id}/revoke', () => {
    it('revokes a root key: it is refused with 401 from the next request on', async () => {
      const created = await h.call('POST', '/v1/root-keys', { permissions: ['keyspaces.read'] });
      expect((await h.call('GET', '/v1/keyspaces', undefined, created.body.key)).status).toBe(200);

      const res = await h.call('POST', `/v1/root-keys/${created.body.id}/revoke`);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: created.body.id, revokedAt: '2026-01-15T12:00:00.000Z' });
      expectProblem(await h.call('GET', '/v1/keyspaces', undefined, created.body.key), 401, 'UNAUTHORIZED');
    });

    it('shows the revocation in the listing', async () => {
      const created = await h.call('POST', '/v1/root-keys', { permissions: ['keyspaces.read'] });
      await h.call('POST', `/v1/root-keys/${created.body.id}/revoke`);

      const res = await h.call('GET', '/v1/root-keys');

      expect(res.body.items).toContainEqual(
        expect.objectContaining({ id: created.body.id, revokedAt: '2026-01-15T12:00:00.000Z' }),
      );
    });

    it('lets a root key revoke itself', async () => {
      const self = await h.call('POST', '/v1/root-keys', { permissions: ['root_keys.write'] });

      const res = await h.call('POST', `/v1/root-keys/${self.body.id}/revoke`, undefined, self.body.key);

      expect(res.status).toBe(200);
      expectProblem(await h.call('GET', '/v1/root-keys', undefined, self.body.key), 401, 'UNAUTHORIZED');
    });

    it('refuses with 403 to revoke a root key holding a permission the caller lacks, and it keeps working', async () => {
      const narrow = await h.call('POST', '/v1/root-keys', { permissions: ['root_keys.write', 'keys.read'] });
      const stronger = await h.call('POST', '/v1/root-keys', { permissions: ['keys.read', 'audit.read'] });
      const bootstrap = (await h.call('GET', '/v1/root-keys?limit=100')).body.items.find(
        (k: { permissions: string[] }) => k.permissions.includes('*'),
      );

      for (const target of [bootstrap.id, stronger.body.id]) {
        const res = await h.call('POST', `/v1/root-keys/${target}/revoke`, undefined, narrow.body.key);
        expectProblem(res, 403, 'PERMISSION_DENIED');
        expect(res.body.detail).toMatch(
          /only revoke root keys whose permissions it holds; it lacks (\*|audit\.read)/,
        );
      }
      expect((await h.call('GET', '/v1/root-keys')).status).toBe(200);
      expect((await h.call('GET', '/v1/audit', undefined, stronger.body.key)).status).toBe(200);
      // One whose permissions it holds, it may revoke.
      const weaker = await h.call('POST', '/v1/root-keys', { permissions: ['keys.read'] });
      expect(
        (await h.call('POST', `/v1/root-keys/${weaker.body.id}/revoke`, undefined, narrow.body.key)).status,
      ).toBe(200);
    });

    it('answers 404 for an id that names nothing', async () => {
      const res = await h.call('POST', `/v1/root-keys/${UNKNOWN_ID.rootKey}/revoke`);

      expectProblem(res, 404, 'NOT_FOUND');
    });
  });

  describe('root keys created offline', () => {
    it('work at once, without a restart', async () => {
      const offline = await h.rootKeyWith(['keyspaces.read']);

      const res = await h.call('GET', '/v1/keyspaces', undefined, offline);

      expect(res.status).toBe(200);
    });

    it('belong to the workspace they were created for', async () => {
      await createKeyspace(h);
      const offline = await h.rootKeyWith(['*'], 'other');

      const res = await h.call('GET', '/v1/keyspaces', undefined, offline);

      expect(res.body.items).toEqual([]);
    });
  });
});
