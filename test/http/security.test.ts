import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKeyspace, expectProblem, forgeKey, verify } from './fixtures.js';
import {
  documentedV1Routes,
  makeWorld,
  PERMISSIONS,
  type RouteCase,
  urlOf,
  V1_ROUTES,
  type World,
} from './routes.js';

/**
 * The shared security suite: every /v1 route, the same questions. Who may call it (401), with
 * which permission (403), and what another workspace's id looks like (404, never 403).
 */
describe('security of every /v1 route', () => {
  let h: Harness;
  /** A `*` root key of workspace `other`. */
  let otherRoot: string;
  beforeAll(async () => {
    h = await harness();
    otherRoot = await h.rootKeyWith(['*'], 'other');
  });
  afterAll(async () => h.close());

  /** What the other workspace's owner sees of a world. */
  async function snapshot(w: World) {
    const urls = [
      `/v1/keyspaces/${w.keyspaceId}`,
      `/v1/keyspaces/${w.emptyKeyspaceId}`,
      `/v1/keyspaces/${w.keyspaceId}/keys`,
      '/v1/root-keys',
      '/v1/audit',
    ];
    return Promise.all(urls.map(async (url) => (await h.call('GET', url, undefined, otherRoot)).body));
  }

  it('the table lists exactly the /v1 routes the app serves', async () => {
    const res = await h.call('GET', '/openapi.json', undefined, null);

    expect(documentedV1Routes(res.body)).toEqual(V1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  describe.each(V1_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route: RouteCase) => {
    let world: World;
    beforeEach(async () => {
      world = await makeWorld(h, h.rootKey);
    });

    const call = (key: string | null, w: World = world) =>
      h.call(route.method, urlOf(route, w), route.body?.(w), key);

    it(`succeeds with ${route.success} for a root key holding only ${route.permission}`, async () => {
      const key = await h.rootKeyWith([route.permission]);

      const res = await call(key);

      expect(res.status).toBe(route.success);
    });

    it('answers 401 without an Authorization header', async () => {
      expectProblem(await call(null), 401, 'UNAUTHORIZED');
    });

    it.each([
      ['a well-formed root key that was never issued', forgeKey('kw_root')],
      ['a root key with a broken checksum', 'kw_root_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['garbage', 'garbage'],
      ['an empty token', ''],
    ])('answers 401 for %s', async (_, token) => {
      expectProblem(await call(token), 401, 'UNAUTHORIZED');
    });

    it('answers 401 for a scheme other than Bearer', async () => {
      const res = await h.app.inject({
        method: route.method,
        url: urlOf(route, world),
        headers: { authorization: `Basic ${Buffer.from(`${h.rootKey}:`).toString('base64')}` },
      });

      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('answers 401 for an API key presented as a root key', async () => {
      expectProblem(await call(world.key), 401, 'UNAUTHORIZED');
    });

    it('answers 401 for a revoked root key', async () => {
      const created = await h.call('POST', '/v1/root-keys', { permissions: ['*'] });
      await h.call('POST', `/v1/root-keys/${created.body.id}/revoke`);

      expectProblem(await call(created.body.key), 401, 'UNAUTHORIZED');
    });

    it('answers 401 before looking at the body', async () => {
      const res = await h.call(route.method, urlOf(route, world), { not: 'valid' }, null);

      expectProblem(res, 401, 'UNAUTHORIZED');
    });

    const denied = route.withoutPermission ?? { status: 403, code: 'PERMISSION_DENIED' };
    it(`answers ${denied.status} for a root key holding every permission but ${route.permission}`, async () => {
      const key = await h.rootKeyWith(PERMISSIONS.filter((p) => p !== route.permission));

      expectProblem(await call(key), denied.status, denied.code);
    });

    if (route.permission.startsWith('keys.') && route.permission !== 'keys.verify') {
      it(`answers 403 for ${route.permission} narrowed to another keyspace`, async () => {
        const elsewhere = await createKeyspace(h);
        const key = await h.rootKeyWith([`${route.permission}:${elsewhere.id}`]);

        expectProblem(await call(key), 403, 'PERMISSION_DENIED');
      });

      it(`succeeds for ${route.permission} narrowed to the key's own keyspace`, async () => {
        const key = await h.rootKeyWith([`${route.permission}:${world.keyspaceId}`]);

        expect((await call(key)).status).toBe(route.success);
      });
    }

    if (route.target !== null) {
      describe("another workspace's id", () => {
        let foreign: World;
        beforeEach(async () => {
          foreign = await makeWorld(h, otherRoot);
        });

        it('answers 404, not 403, to a root key with *', async () => {
          expectProblem(await call(h.rootKey, foreign), 404, 'NOT_FOUND');
        });

        it('answers 404, not 403, to a root key without the permission', async () => {
          const powerless = await h.rootKeyWith(['usage.read']);

          expectProblem(await call(powerless, foreign), 404, 'NOT_FOUND');
        });

        it('leaves the foreign workspace untouched', async () => {
          const before = await snapshot(foreign);

          await call(h.rootKey, foreign);

          expect(await snapshot(foreign)).toEqual(before);
        });
      });
    }
  });

  describe('POST /v1/keys/verify across workspaces', () => {
    it("answers NOT_FOUND for another workspace's key, even to a root key with *", async () => {
      const foreign = await makeWorld(h, otherRoot);

      expect(await verify(h, { key: foreign.key })).toEqual({ valid: false, code: 'NOT_FOUND' });
    });

    it("answers NOT_FOUND for another workspace's keyspaceId", async () => {
      const foreign = await makeWorld(h, otherRoot);

      expect(await verify(h, { key: foreign.key, keyspaceId: foreign.keyspaceId })).toEqual({
        valid: false,
        code: 'NOT_FOUND',
      });
    });
  });
});
