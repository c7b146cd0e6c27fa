import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { documentedV1Routes, V1_ROUTES } from './routes.js';

describe('documentation and operations', () => {
  let h: Harness;
  let openapi: any;
  beforeAll(async () => {
    h = await harness();
    openapi = (await h.call('GET', '/openapi.json', undefined, null)).body;
  });
  afterAll(async () => h.close());

  describe('GET /openapi.json', () => {
    it('answers an OpenAPI 3.1 document without authentication', async () => {
      const res = await h.call('GET', '/openapi.json', undefined, null);

      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.openapi).toMatch(/^3\.1\.\d+$/);
      expect(res.body.info).toMatchObject({ title: 'Keyward', version: expect.any(String) });
    });

    it('documents every /v1 route with its method', () => {
      expect(documentedV1Routes(openapi)).toEqual(V1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    });

    it.each(V1_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
      '%s has a summary, the bearer security scheme, and a schema for its success answer',
      (_, route) => {
        const op = openapi.paths[route.path][route.method.toLowerCase()];

        expect(op.summary).toEqual(expect.any(String));
        expect(op.security).toEqual([{ rootKey: [] }]);
        expect(op.responses).toHaveProperty(String(route.success));
        if (route.success !== 204)
          expect(op.responses[route.success].content['application/json'].schema).toEqual(expect.any(Object));
      },
    );

    it.each(V1_ROUTES.filter((r) => r.body !== undefined).map((r) => [`${r.method} ${r.path}`, r] as const))(
      '%s documents its JSON request body',
      (_, route) => {
        const op = openapi.paths[route.path][route.method.toLowerCase()];

        expect(op.requestBody.content['application/json'].schema).toMatchObject({ type: 'object' });
      },
    );

    it.each(
      V1_ROUTES.filter((r) => r.path.includes('{id}')).map((r) => [`${r.method} ${r.path}`, r] as const),
    )('%s documents its id path parameter', (_, route) => {
      const op = openapi.paths[route.path][route.method.toLowerCase()];

      expect(op.parameters).toContainEqual(
        expect.objectContaining({ in: 'path', name: 'id', required: true, schema: expect.any(Object) }),
      );
    });

    it.each(V1_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
      '%s documents its errors as application/problem+json',
      (_, route) => {
        const op = openapi.paths[route.path][route.method.toLowerCase()];

        for (const status of ['400', '401', '403', '404'])
          expect(op.responses[status].content).toHaveProperty(['application/problem+json']);
      },
    );

    it('marks a request body optional exactly where the route takes none (revoke, rotate, key create)', () => {
      const required = (method: string, path: string) => openapi.paths[path][method].requestBody.required;

      expect(required('post', '/v1/keys/{id}/revoke')).toBe(false);
      expect(required('post', '/v1/keys/{id}/rotate')).toBe(false);
      expect(required('post', '/v1/keyspaces/{id}/keys')).toBe(false);
      expect(required('post', '/v1/keys/verify')).toBe(true);
      expect(required('post', '/v1/keyspaces')).toBe(true);
      expect(required('patch', '/v1/keys/{id}')).toBe(true);
    });

    it('documents /metrics as Prometheus text', () => {
      expect(openapi.paths['/metrics'].get.responses['200'].content).toEqual({
        'text/plain': { schema: expect.objectContaining({ type: 'string' }) },
      });
    });

    it('declares the bearer root key scheme', () => {
      expect(openapi.components.securitySchemes.rootKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    });

    it('documents the list query parameters limit and cursor on every listing', () => {
      const listings = ['/v1/keyspaces', '/v1/keyspaces/{id}/keys', '/v1/audit', '/v1/root-keys'];

      for (const path of listings) {
        const names = openapi.paths[path].get.parameters
          .filter((p: { in: string }) => p.in === 'query')
          .map((p: { name: string }) => p.name);
        expect(names).toEqual(expect.arrayContaining(['limit', 'cursor']));
      }
    });
  });

  describe('GET /docs', () => {
    it('answers a human-readable HTML reference at /docs/', async () => {
      const res = await h.app.inject({ method: 'GET', url: '/docs/' });

      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toMatch(/<html/i);
    });

    it('answers /docs without a trailing slash too', async () => {
      const res = await h.app.inject({ method: 'GET', url: '/docs' });

      expect([200, 301, 302]).toContain(res.statusCode);
    });
  });

  describe('GET /healthz', () => {
    it('answers 200 { status: "ok" } without authentication', async () => {
      const res = await h.call('GET', '/healthz', undefined, null);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });
  });
});
