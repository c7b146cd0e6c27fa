import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { exchange } from '../support/raw-http.js';
import {
  allAuditEntries,
  createKey,
  createKeyspace,
  expectProblem,
  type Reply,
  UNKNOWN_ID,
} from './fixtures.js';

describe('errors', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness();
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  /** Sends raw bytes with the given content type, as the bootstrap root key. */
  async function raw(
    method: 'POST' | 'PATCH',
    url: string,
    payload: string,
    contentType: string,
  ): Promise<Reply> {
    const res = await h.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${h.rootKey}`, 'content-type': contentType },
      payload,
    });
    return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers };
  }

  describe('bad JSON', () => {
    it.each(['{"name": ', '{name: "x"}', "{'name':'x'}", '{"name":"x"}}', 'nul'])(
      'answers 400 INVALID_JSON for %s',
      async (body) => {
        const res = await h.call('POST', '/v1/keyspaces', body);

        expectProblem(res, 400, 'INVALID_JSON');
      },
    );

    it.each([
      ['an array', '[]'],
      ['a string', '"payments"'],
      ['null', 'null'],
      ['a number', '1'],
    ])('answers 400 for a body that is %s, not an object', async (_, body) => {
      const res = await h.call('POST', '/v1/keyspaces', body);

      expectProblem(res, 400);
    });

    it('answers 415 for a body that is not JSON', async () => {
      const res = await raw('POST', '/v1/keyspaces', 'name=payments', 'application/x-www-form-urlencoded');

      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('validation', () => {
    it('answers 400 VALIDATION_FAILED naming an unknown field', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'payments', colour: 'blue' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path: '/colour', message: 'is not a known field' }]);
    });

    it('answers 400 naming a nested unknown field', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { restrictions: { ports: [80] } });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path: '/restrictions/ports', message: 'is not a known field' }]);
    });

    it.each([
      ['a number for a string', { name: 5 }, '/name'],
      ['a string for an object', { name: 'x', defaults: 'none' }, '/defaults'],
      [
        'a string for an integer',
        { name: 'x', defaults: { expiresInSeconds: '60' } },
        '/defaults/expiresInSeconds',
      ],
      [
        'a fraction for an integer',
        { name: 'x', defaults: { expiresInSeconds: 1.5 } },
        '/defaults/expiresInSeconds',
      ],
      ['a boolean for an array', { name: 'x', defaults: { scopes: true } }, '/defaults/scopes'],
    ])('answers 400 for %s, without coercing it', async (_, body, path) => {
      const res = await h.call('POST', '/v1/keyspaces', body);

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path, message: expect.any(String) }]);
    });

    it('answers 400 for a huge string', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'x'.repeat(100_000) });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path: '/name', message: expect.any(String) }]);
    });

    it('answers 400 for meta over 16 KiB', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {
        meta: { blob: 'x'.repeat(17 * 1024) },
      });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('answers 400 for a time that is not ISO-8601', async () => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { expiresAt: 'next tuesday' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('answers 400 for a date-time no instant matches (a leap second), on every route that takes one, and changes nothing', async () => {
      const key = await createKey(h, ks.id, { name: 'before', expiresAt: '2031-01-01T00:00:00.000Z' });
      const { key: _plaintext, ...before } = key;
      const auditBefore = await allAuditEntries(h);
      const leap = '2031-06-30T23:59:60Z';

      const replies = [
        await h.call('PATCH', `/v1/keys/${key.id}`, { name: 'after', expiresAt: leap }),
        await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { expiresAt: leap }),
        await h.call('POST', '/v1/keys/revoke', {
          filter: { keyspaceId: ks.id, createdBefore: leap },
          reason: 'leap',
        }),
        await h.call('GET', `/v1/keyspaces/${ks.id}/keys?expiresBefore=${leap}`),
        await h.call('GET', `/v1/keys/${key.id}/usage?from=${leap}`),
        await h.call('GET', `/v1/keys/${key.id}/usage?to=${leap}`),
        await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { expiresAt: '+275761-01-01T00:00:00Z' }),
      ];

      for (const res of replies) {
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.body.detail).toMatch(/date-time/);
      }
      expect((await h.call('GET', `/v1/keys/${key.id}`)).body).toEqual(before);
      expect((await h.call('POST', '/v1/keys/verify', { key: key.key })).body.code).toBe('VALID');
      expect(await allAuditEntries(h)).toEqual(auditBefore);
    });

    it('answers 400 for the same rate limit named twice', async () => {
      const limit = { name: 'a', limit: 1, windowMs: 1000 };

      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { ratelimits: [limit, limit] });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('body size', () => {
    it('answers 413 PAYLOAD_TOO_LARGE for a body over 1 MiB', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'x', pad: 'x'.repeat(1024 * 1024) });

      expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('accepts a body just under 1 MiB as far as validation', async () => {
      const res = await h.call('POST', '/v1/keyspaces', { name: 'x'.repeat(1024 * 1024 - 100) });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('ids', () => {
    it.each([
      ['garbage', '/v1/keys/nope'],
      ['an id of another type', `/v1/keys/${UNKNOWN_ID.keyspace}`],
      ['an id with a character outside base62', '/v1/keys/key_0000000000-000000000'],
      ['a keyspace id of another type', `/v1/keyspaces/${UNKNOWN_ID.key}`],
      ['a root key id of another type', `/v1/root-keys/${UNKNOWN_ID.key}/revoke`],
    ])('answers 400 for %s', async (_, url) => {
      const res = await h.call(url.endsWith('revoke') ? 'POST' : 'GET', url);

      expectProblem(res, 400);
    });

    it.each([
      ['a key', `/v1/keys/${UNKNOWN_ID.key}`],
      ['a keyspace', `/v1/keyspaces/${UNKNOWN_ID.keyspace}`],
    ])('answers 404 NOT_FOUND for a well-formed id of %s that names nothing', async (_, url) => {
      const res = await h.call('GET', url);

      expectProblem(res, 404, 'NOT_FOUND');
    });
  });

  describe('restrictions', () => {
    it.each(['10.0.0.0/33', '300.1.1.1', '10.0.0', 'example.com', '2001:db8::/129', '10.0.0.0/x'])(
      'answers 400 INVALID_RESTRICTION for the IP range %s',
      async (range) => {
        const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, { restrictions: { ips: [range] } });

        expectProblem(res, 400, 'INVALID_RESTRICTION');
        expect(res.body.errors).toEqual([{ path: '/restrictions/ips', message: expect.any(String) }]);
      },
    );

    it.each([
      'https://app.example.com/path',
      'https://app.example.com/',
      'https://app.example.com?q=1',
      'https://user:pw@app.example.com',
      'ftp://app.example.com',
      'app.example.com',
      'not an origin',
    ])('answers 400 INVALID_RESTRICTION for the origin %s', async (origin) => {
      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, {
        restrictions: { origins: [origin] },
      });

      expectProblem(res, 400, 'INVALID_RESTRICTION');
    });

    it('answers 400 INVALID_RESTRICTION on PATCH too, and leaves the key as it was', async () => {
      const key = await createKey(h, ks.id, { restrictions: { ips: ['10.0.0.0/8'] } });

      const res = await h.call('PATCH', `/v1/keys/${key.id}`, { restrictions: { ips: ['10.0.0.0/99'] } });

      expectProblem(res, 400, 'INVALID_RESTRICTION');
      expect((await h.call('GET', `/v1/keys/${key.id}`)).body.restrictions.ips).toEqual(['10.0.0.0/8']);
    });
  });

  describe('routes', () => {
    it('answers an unknown route with a 404 problem', async () => {
      const res = await h.call('GET', '/v1/nothing-here');

      expectProblem(res, 404, 'ROUTE_NOT_FOUND');
    });

    it('answers a URL that does not decode, and a path segment too long for an id, with 400 problems', async () => {
      const badUrl = await h.call('GET', '/v1/keys/key_%E0%A4%A');
      expectProblem(badUrl, 400, 'VALIDATION_FAILED');
      expect(badUrl.body.detail).toMatch(/does not decode/);

      const long = await h.call('GET', `/v1/keys/key_${'a'.repeat(10_000)}`);
      expectProblem(long, 400, 'VALIDATION_FAILED');
      expect(long.body.detail).toMatch(/longer than 100 characters/);
    });

    it('names an id of the wrong kind in words, not as the pattern it failed', async () => {
      const res = await h.call('GET', `/v1/keys/${ks.id}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.detail).toBe('params:/id is not a key_… id (key_ and 8 to 40 letters and digits)');
    });

    it('answers an unknown method on a known path with a 4xx problem', async () => {
      const res = await h.call('PUT', '/v1/keyspaces', {});

      expectProblem(res, res.status);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });
  });

  describe('nothing half-written', () => {
    it.each([
      ['a bad CIDR', { ownerId: 'x', restrictions: { ips: ['10.0.0.0/33'] } }],
      ['a bad origin', { ownerId: 'x', restrictions: { origins: ['https://a.example/path'] } }],
      ['an expiry in the past', { ownerId: 'x', expiresAt: '2020-01-01T00:00:00.000Z' }],
      ['meta over 16 KiB', { ownerId: 'x', meta: { blob: 'x'.repeat(17 * 1024) } }],
      [
        'duplicate rate limits',
        {
          ownerId: 'x',
          ratelimits: [
            { name: 'a', limit: 1, windowMs: 1000 },
            { name: 'a', limit: 2, windowMs: 1000 },
          ],
        },
      ],
    ])('after a key create refused for %s, no key is listed and no audit entry written', async (_, body) => {
      const auditBefore = await allAuditEntries(h);

      const res = await h.call('POST', `/v1/keyspaces/${ks.id}/keys`, body);

      expect(res.status).toBe(400);
      expect((await h.call('GET', `/v1/keyspaces/${ks.id}/keys`)).body.items).toEqual([]);
      expect(await allAuditEntries(h)).toEqual(auditBefore);
    });

    it('after a refused keyspace create, no keyspace is listed and no audit entry written', async () => {
      const keyspacesBefore = (await h.call('GET', '/v1/keyspaces')).body;
      const auditBefore = await allAuditEntries(h);

      const res = await h.call('POST', '/v1/keyspaces', { name: 'new', prefix: 'Bad-Prefix' });

      expect(res.status).toBe(400);
      expect((await h.call('GET', '/v1/keyspaces')).body).toEqual(keyspacesBefore);
      expect(await allAuditEntries(h)).toEqual(auditBefore);
    });

    it('after a refused key update, the key and the audit log are unchanged', async () => {
      const key = await createKey(h, ks.id, { name: 'before' });
      const auditBefore = await allAuditEntries(h);
      const { key: _plaintext, ...before } = key;

      const res = await h.call('PATCH', `/v1/keys/${key.id}`, {
        name: 'after',
        restrictions: { origins: ['nope'] },
      });

      expect(res.status).toBe(400);
      expect((await h.call('GET', `/v1/keys/${key.id}`)).body).toEqual(before);
      expect(await allAuditEntries(h)).toEqual(auditBefore);
    });
  });

  it('never answers 5xx to hostile input', async () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const key = await createKey(h, ks.id);
    const attempts: Array<[string, string, unknown]> = [
      ['POST', `/v1/keyspaces/${ks.id}/keys`, `{"meta":{"x":${deep}}}`],
      ['PATCH', `/v1/keys/${key.id}`, `{"meta":{"x":${deep}}}`],
      ['POST', '/v1/keyspaces', `{"name":${deep}}`],
      ['POST', '/v1/keys/verify', { key: key.key, scopes: `${'('.repeat(1000)}a${')'.repeat(1000)}` }],
      ['POST', '/v1/keys/verify', { key: key.key, scopes: Array(1000).fill('a').join(' AND ') }],
      ['POST', '/v1/keys/verify', { key: '\u0000'.repeat(100) }],
      ['POST', '/v1/keys/verify', { key: key.key, ip: '::ffff:999.1.1.1' }],
      ['POST', '/v1/keys/verify', { key: key.key, origin: 'http://[::1' }],
      ['GET', `/v1/keyspaces/${ks.id}/keys?cursor=${'%FF'.repeat(100)}`, undefined],
      ['GET', '/v1/audit?cursor=WzFd', undefined],
      ['POST', '/v1/root-keys', { permissions: ['x'.repeat(300)] }],
      ['POST', '/v1/keyspaces', '{"__proto__":{"admin":true},"name":"proto"}'],
    ];

    const failures: string[] = [];
    for (const [i, [method, url, body]] of attempts.entries()) {
      const res = await h.call(method as 'GET', url, body);
      if (res.status >= 500) failures.push(`attempt ${i}: ${method} ${url.slice(0, 40)} → ${res.status}`);
    }

    expect(failures).toEqual([]);
  });
});

describe('requests Node.js cannot parse, over real connections (KEYWARD_WRITE_COALESCING)', () => {
  for (const setting of ['on', 'off'] as const) {
    it(`answers each with a problem, then closes the connection, writes coalescing ${setting}`, async () => {
      const h = await harness({ env: { KEYWARD_WRITE_COALESCING: setting } });
      try {
        const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
        const cases = [
          {
            text: `GET /v1/keyspaces HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
            status: 431,
            code: 'HEADERS_TOO_LARGE',
          },
          { text: 'GARBAGE\r\n\r\n', status: 400, code: 'VALIDATION_FAILED' },
        ];
        for (const c of cases) {
          const answer = await exchange(url, c.text);
          const [head = '', body = ''] = answer.split('\r\n\r\n');
          expect(head).toMatch(new RegExp(`^HTTP/1.1 ${c.status} `));
          expect(head).toMatch(/content-type: application\/problem\+json/i);
          const problem = JSON.parse(body);
          expect(problem).toMatchObject({ status: c.status, code: c.code });
          expect(problem.requestId).toMatch(/^req_/);
          expect(head).toContain(`x-request-id: ${problem.requestId}`);
        }
        // The server goes on serving.
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
      } finally {
        await h.close();
      }
    });
  }
});
