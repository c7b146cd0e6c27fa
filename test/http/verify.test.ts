import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import {
  breakChecksum,
  createKey,
  createKeyspace,
  expectProblem,
  forgeKey,
  SECOND,
  verify,
} from './fixtures.js';

describe('POST /v1/keys/verify', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness();
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  describe('VALID', () => {
    it('answers 200 VALID with the key’s id, keyspace, owner, name, meta, scopes and expiry', async () => {
      const created = await createKey(h, ks.id, {
        name: 'ci',
        ownerId: 'user_1',
        meta: { plan: 'pro' },
        scopes: ['docs.read'],
        expiresAt: '2026-02-01T00:00:00.000Z',
      });

      const res = await h.call('POST', '/v1/keys/verify', { key: created.key });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        valid: true,
        code: 'VALID',
        keyId: created.id,
        keyspaceId: ks.id,
        ownerId: 'user_1',
        name: 'ci',
        meta: { plan: 'pro' },
        scopes: ['docs.read'],
        expiresAt: '2026-02-01T00:00:00.000Z',
      });
    });

    it('accepts the key in the keyspace named by keyspaceId', async () => {
      const created = await createKey(h, ks.id);

      expect((await verify(h, { key: created.key, keyspaceId: ks.id })).code).toBe('VALID');
    });

    it('accepts a key of the keyspace a narrowed keys.verify:<ksId> root key covers', async () => {
      const created = await createKey(h, ks.id);
      const narrowed = await h.rootKeyWith([`keys.verify:${ks.id}`]);

      expect((await verify(h, { key: created.key }, narrowed)).code).toBe('VALID');
    });
  });

  describe('NOT_FOUND, always the same bare answer', () => {
    const NOT_FOUND = { valid: false, code: 'NOT_FOUND' };

    it('for a well-formed key with a correct checksum that was never issued', async () => {
      expect(await verify(h, { key: forgeKey('kw') })).toEqual(NOT_FOUND);
    });

    it('for an issued key whose checksum was changed', async () => {
      const created = await createKey(h, ks.id);

      expect(await verify(h, { key: breakChecksum(created.key) })).toEqual(NOT_FOUND);
    });

    it.each([
      ['garbage', 'hello'],
      ['no prefix', '_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl'],
      ['a too long key', `kw_${'A'.repeat(100)}`],
      ['characters outside base62', `kw_${'-'.repeat(38)}`],
    ])('for %s', async (_, key) => {
      expect(await verify(h, { key })).toEqual(NOT_FOUND);
    });

    it('for a key of another workspace', async () => {
      const other = await h.rootKeyWith(['*'], 'other');
      const foreignKs = await createKeyspace(h, {}, other);
      const foreign = await createKey(h, foreignKs.id, {}, other);

      expect(await verify(h, { key: foreign.key })).toEqual(NOT_FOUND);
    });

    it('for a key of another keyspace than keyspaceId', async () => {
      const otherKs = await createKeyspace(h);
      const created = await createKey(h, otherKs.id);

      expect(await verify(h, { key: created.key, keyspaceId: ks.id })).toEqual(NOT_FOUND);
    });

    it('for a key outside the keyspace of a narrowed keys.verify:<ksId> root key', async () => {
      const otherKs = await createKeyspace(h);
      const created = await createKey(h, otherKs.id);
      const narrowed = await h.rootKeyWith([`keys.verify:${ks.id}`]);

      expect(await verify(h, { key: created.key }, narrowed)).toEqual(NOT_FOUND);
    });

    it('for a deleted key', async () => {
      const created = await createKey(h, ks.id);
      await h.call('DELETE', `/v1/keys/${created.id}`);

      expect(await verify(h, { key: created.key })).toEqual(NOT_FOUND);
    });

    it('for a root key presented as an API key', async () => {
      expect(await verify(h, { key: h.rootKey })).toEqual(NOT_FOUND);
    });
  });

  describe('answers made once per key and outcome, then sent again', () => {
    const raw = async (key: string) => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { authorization: `Bearer ${h.rootKey}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ key }),
      });
      return { status: res.statusCode, type: res.headers['content-type'], text: res.body };
    };

    it('sends the same bytes, as JSON, every time: the whole answer, nothing more', async () => {
      const created = await createKey(h, ks.id, { name: 'ci', meta: { plan: 'pro', n: 1 }, scopes: ['a.b'] });

      const answers = [await raw(created.key), await raw(created.key), await raw(created.key)];

      for (const a of answers) {
        expect(a).toEqual(answers[0]);
        expect(a.type).toBe('application/json; charset=utf-8');
      }
      expect(JSON.parse(answers[0]?.text ?? '')).toEqual({
        valid: true,
        code: 'VALID',
        keyId: created.id,
        keyspaceId: ks.id,
        ownerId: null,
        name: 'ci',
        meta: { plan: 'pro', n: 1 },
        scopes: ['a.b'],
        expiresAt: null,
      });
      const unknown = forgeKey('kw');
      expect(await raw(unknown)).toEqual(await raw(unknown));
      expect(JSON.parse((await raw(unknown)).text)).toEqual({ valid: false, code: 'NOT_FOUND' });
    });

    it('answers with what the key is after each change, never an answer made before it', async () => {
      const created = await createKey(h, ks.id, { name: 'before' });
      expect(JSON.parse((await raw(created.key)).text)).toMatchObject({ code: 'VALID', name: 'before' });

      await h.call('PATCH', `/v1/keys/${created.id}`, { name: 'after', meta: { tier: 2 }, scopes: ['x'] });
      expect(JSON.parse((await raw(created.key)).text)).toMatchObject({
        code: 'VALID',
        name: 'after',
        meta: { tier: 2 },
        scopes: ['x'],
      });

      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });
      expect(JSON.parse((await raw(created.key)).text)).toMatchObject({ valid: false, code: 'DISABLED' });

      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'active', name: 'again' });
      expect(JSON.parse((await raw(created.key)).text)).toMatchObject({ valid: true, name: 'again' });
    });

    it('builds the answers that change with every call (credits) each time', async () => {
      const created = await createKey(h, ks.id, { credits: { remaining: 3 } });

      const remaining = [];
      for (let i = 0; i < 3; i++) remaining.push(JSON.parse((await raw(created.key)).text).credits);

      expect(remaining).toEqual([{ remaining: 2 }, { remaining: 1 }, { remaining: 0 }]);
    });
  });

  describe('status codes', () => {
    it('DISABLED for a disabled key', async () => {
      const created = await createKey(h, ks.id);
      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });

      expect(await verify(h, { key: created.key })).toMatchObject({
        valid: false,
        code: 'DISABLED',
        keyId: created.id,
      });
    });

    it('REVOKED for a revoked key', async () => {
      const created = await createKey(h, ks.id);
      await h.call('POST', `/v1/keys/${created.id}/revoke`, {});

      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'REVOKED' });
    });

    it('EXPIRED from the millisecond the clock reaches expiresAt, VALID the millisecond before', async () => {
      const created = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:00:10.000Z' });
      h.clock.advance(10 * SECOND - 1);
      expect((await verify(h, { key: created.key })).code).toBe('VALID');

      h.clock.advance(1);

      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'EXPIRED' });
    });
  });

  describe('IP restrictions (FORBIDDEN)', () => {
    it.each([
      ['10.0.0.0/8', '10.1.2.3', 'VALID'],
      ['10.0.0.0/8', '192.168.1.1', 'FORBIDDEN'],
      ['203.0.113.7', '203.0.113.7', 'VALID'],
      ['203.0.113.7', '203.0.113.8', 'FORBIDDEN'],
      ['2001:db8::/32', '2001:db8:1::1', 'VALID'],
      ['2001:db8::/32', '2001:db9::1', 'FORBIDDEN'],
      ['2001:db8::/32', '2001:0DB8:0000::0001', 'VALID'],
      ['10.0.0.0/8', '::ffff:10.1.2.3', 'VALID'],
      ['10.0.0.0/8', '::ffff:192.168.1.1', 'FORBIDDEN'],
      ['0.0.0.0/0', '198.51.100.1', 'VALID'],
    ])('a key restricted to %s verified from %s is %s', async (range, ip, code) => {
      const created = await createKey(h, ks.id, { restrictions: { ips: [range] } });

      expect((await verify(h, { key: created.key, ip })).code).toBe(code);
    });

    it('accepts an address in any of several ranges', async () => {
      const created = await createKey(h, ks.id, { restrictions: { ips: ['10.0.0.0/8', '192.168.0.0/16'] } });

      expect((await verify(h, { key: created.key, ip: '192.168.5.5' })).code).toBe('VALID');
    });

    it('fails closed: FORBIDDEN when the key has an IP restriction and no ip is given', async () => {
      const created = await createKey(h, ks.id, { restrictions: { ips: ['10.0.0.0/8'] } });

      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    });

    it('ignores ip for a key without IP restrictions', async () => {
      const created = await createKey(h, ks.id);

      expect((await verify(h, { key: created.key, ip: '192.168.1.1' })).code).toBe('VALID');
    });
  });

  describe('origin restrictions (FORBIDDEN)', () => {
    it.each([
      ['https://app.example.com', 'https://app.example.com', 'VALID'],
      ['https://app.example.com', 'https://evil.example.com', 'FORBIDDEN'],
      ['https://app.example.com', 'http://app.example.com', 'FORBIDDEN'],
      ['https://app.example.com', 'https://app.example.com:8443', 'FORBIDDEN'],
      ['https://app.example.com', 'https://APP.Example.COM', 'VALID'],
      ['https://app.example.com', 'https://app.example.com:443', 'VALID'],
      ['https://app.example.com:443', 'https://app.example.com', 'VALID'],
      ['http://localhost:80', 'http://localhost', 'VALID'],
      ['http://localhost:8080', 'http://localhost:8080', 'VALID'],
      ['http://localhost:8080', 'http://localhost', 'FORBIDDEN'],
    ])('a key restricted to %s verified from %s is %s', async (allowed, origin, code) => {
      const created = await createKey(h, ks.id, { restrictions: { origins: [allowed] } });

      expect((await verify(h, { key: created.key, origin })).code).toBe(code);
    });

    it('fails closed: FORBIDDEN when the key has an origin restriction and no origin is given', async () => {
      const created = await createKey(h, ks.id, { restrictions: { origins: ['https://app.example.com'] } });

      expect(await verify(h, { key: created.key })).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    });
  });

  describe('scopes (INSUFFICIENT_SCOPES)', () => {
    it.each([
      ['docs.read', 'VALID'],
      ['docs.read AND billing.read', 'VALID'],
      ['docs.read AND docs.write', 'INSUFFICIENT_SCOPES'],
      ['docs.write OR billing.read', 'VALID'],
      ['docs.write OR admin', 'INSUFFICIENT_SCOPES'],
      ['docs.write AND (billing.read OR docs.read)', 'INSUFFICIENT_SCOPES'],
      ['(docs.write OR docs.read) AND billing.read', 'VALID'],
      // AND binds tighter: (docs.write AND billing.read) OR docs.read.
      ['docs.write AND billing.read OR docs.read', 'VALID'],
      ['docs.read OR docs.write AND admin', 'VALID'],
      ['docs.read and billing.read', 'VALID'],
      ['docs.write Or billing.read', 'VALID'],
      ['((docs.read))', 'VALID'],
    ])('a key with docs.read and billing.read checked for "%s" is %s', async (scopes, code) => {
      const created = await createKey(h, ks.id, { scopes: ['docs.read', 'billing.read'] });

      expect((await verify(h, { key: created.key, scopes })).code).toBe(code);
    });

    it.each([
      [['docs.*'], 'docs.read', 'VALID'],
      [['docs.*'], 'docs.write', 'VALID'],
      [['docs.*'], 'docs.pages.edit', 'VALID'],
      [['docs.*'], 'docs', 'INSUFFICIENT_SCOPES'],
      [['docs.*'], 'docsx.read', 'INSUFFICIENT_SCOPES'],
      [['docs.*'], 'billing.read', 'INSUFFICIENT_SCOPES'],
      [['*'], 'anything.at:all', 'VALID'],
      [[], 'docs.read', 'INSUFFICIENT_SCOPES'],
    ])('a key granted %j checked for "%s" is %s', async (granted, scopes, code) => {
      const created = await createKey(h, ks.id, { scopes: granted });

      expect((await verify(h, { key: created.key, scopes })).code).toBe(code);
    });

    it.each([
      'docs.read AND',
      'AND docs.read',
      '(docs.read',
      'docs.read)',
      'docs.read billing.read',
      'docs read!',
      '()',
      '   ',
    ])('refuses the malformed expression "%s" with 400 INVALID_SCOPE_EXPRESSION', async (scopes) => {
      const created = await createKey(h, ks.id);

      const res = await h.call('POST', '/v1/keys/verify', { key: created.key, scopes });

      expectProblem(res, 400, 'INVALID_SCOPE_EXPRESSION');
    });

    it('refuses a malformed expression even for a key that does not exist', async () => {
      const res = await h.call('POST', '/v1/keys/verify', { key: forgeKey('kw'), scopes: 'a AND' });

      expectProblem(res, 400, 'INVALID_SCOPE_EXPRESSION');
    });
  });

  describe('the order of the checks', () => {
    it('answers REVOKED for a key that is revoked and expired', async () => {
      const created = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:00:01.000Z' });
      await h.call('POST', `/v1/keys/${created.id}/revoke`, {});
      h.clock.advance(SECOND);

      expect((await verify(h, { key: created.key })).code).toBe('REVOKED');
    });

    it('answers REVOKED for a key that was disabled, then revoked', async () => {
      const created = await createKey(h, ks.id);
      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });
      await h.call('POST', `/v1/keys/${created.id}/revoke`, {});

      expect((await verify(h, { key: created.key })).code).toBe('REVOKED');
    });

    it('answers DISABLED for a disabled key verified from a forbidden IP', async () => {
      const created = await createKey(h, ks.id, { restrictions: { ips: ['10.0.0.0/8'] } });
      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });

      expect((await verify(h, { key: created.key, ip: '192.168.1.1' })).code).toBe('DISABLED');
    });

    it('answers DISABLED for a disabled and expired key', async () => {
      const created = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:00:01.000Z' });
      await h.call('PATCH', `/v1/keys/${created.id}`, { status: 'disabled' });
      h.clock.advance(SECOND);

      expect((await verify(h, { key: created.key })).code).toBe('DISABLED');
    });

    it('answers EXPIRED for an expired key verified from a forbidden IP', async () => {
      const created = await createKey(h, ks.id, {
        expiresAt: '2026-01-15T12:00:01.000Z',
        restrictions: { ips: ['10.0.0.0/8'] },
      });
      h.clock.advance(SECOND);

      expect((await verify(h, { key: created.key, ip: '192.168.1.1' })).code).toBe('EXPIRED');
    });

    it('answers FORBIDDEN for a key verified from a forbidden origin without the scopes asked for', async () => {
      const created = await createKey(h, ks.id, { restrictions: { origins: ['https://app.example.com'] } });

      const res = await verify(h, { key: created.key, origin: 'https://evil.example.com', scopes: 'admin' });

      expect(res.code).toBe('FORBIDDEN');
    });
  });

  describe('bad requests', () => {
    it.each(['999.1.1.1', 'not-an-ip', '10.0.0.0/8', '01.2.3.4', '1:2:3'])(
      'refuses ip "%s" with 400',
      async (ip) => {
        const created = await createKey(h, ks.id);

        const res = await h.call('POST', '/v1/keys/verify', { key: created.key, ip });

        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.body.errors).toEqual([{ path: '/ip', message: expect.any(String) }]);
      },
    );

    it.each(['ftp://example.com', 'not an origin', 'javascript:alert(1)'])(
      'refuses origin "%s" with 400',
      async (origin) => {
        const created = await createKey(h, ks.id);

        const res = await h.call('POST', '/v1/keys/verify', { key: created.key, origin });

        expectProblem(res, 400, 'VALIDATION_FAILED');
      },
    );

    it('refuses a request without key with 400', async () => {
      const res = await h.call('POST', '/v1/keys/verify', {});

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toContainEqual({ path: '/key', message: 'is required' });
    });

    it('refuses a root key without keys.verify with 403', async () => {
      const created = await createKey(h, ks.id);
      const reader = await h.rootKeyWith(['keys.read', 'keys.create']);

      const res = await h.call('POST', '/v1/keys/verify', { key: created.key }, reader);

      expectProblem(res, 403, 'PERMISSION_DENIED');
    });
  });
});

describe('request logging of verifications', () => {
  const requestLines = (lines: string[]) =>
    lines
      .map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string }; reqId?: string })
      .filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');

  it('at the default level logs management calls but not each verification (its usage event records it)', async () => {
    const lines: string[] = [];
    const h = await harness({ logLines: lines });
    try {
      const ks = await createKeyspace(h);
      const { key } = await createKey(h, ks.id);
      const before = requestLines(lines).length;
      expect(before).toBeGreaterThanOrEqual(4);
      const valid = await verify(h, { key });
      expect(valid.code).toBe('VALID');
      const notFound = await verify(h, { key: forgeKey('kw') });
      expect(notFound.code).toBe('NOT_FOUND');
      expect(requestLines(lines)).toHaveLength(before);
      // A failing verification request is still a 4xx answered with a problem, and not logged at info.
      const bad = await h.call('POST', '/v1/keys/verify', { key: 42 });
      expectProblem(bad, 400, 'VALIDATION_FAILED');
      expect(requestLines(lines)).toHaveLength(before);
      await h.call('GET', '/v1/keyspaces');
      expect(requestLines(lines)).toHaveLength(before + 2);
      // The key itself never reaches a log line.
      expect(lines.join('\n')).not.toContain(key);
    } finally {
      await h.close();
    }
  });

  it('logs a verification that fails inside the server at error, with its request id, at the default level', async () => {
    const lines: string[] = [];
    const h = await harness({ logLines: lines });
    try {
      const ks = await createKeyspace(h);
      const { key } = await createKey(h, ks.id);
      const verifier = h.services.verifier;
      const original = verifier.verify.bind(verifier);
      verifier.verify = () => {
        throw new Error('store exploded');
      };
      const res = await h.call('POST', '/v1/keys/verify', { key });
      verifier.verify = original;
      expectProblem(res, 500, 'INTERNAL');
      const failures = lines
        .map(
          (l) => JSON.parse(l) as { level: number; msg?: string; reqId?: string; err?: { message?: string } },
        )
        .filter((l) => l.msg === 'request failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]?.level).toBe(50);
      expect(failures[0]?.reqId).toBe(res.headers['x-request-id']);
      expect(failures[0]?.err?.message).toBe('store exploded');
      expect(lines.join('\n')).not.toContain(key);
      // The next verification answers normally and writes nothing at info.
      const before = lines.length;
      expect((await verify(h, { key })).code).toBe('VALID');
      expect(lines.length).toBe(before);
    } finally {
      await h.close();
    }
  });

  it('logs every other answer once: incoming request, then request completed with its status', async () => {
    const lines: string[] = [];
    const h = await harness({ logLines: lines });
    try {
      const mark = lines.length;
      await h.call('GET', '/v1/keyspaces');
      await h.call('GET', '/v1/nothing-here');
      await h.call('GET', '/v1/keys/%E0%A4%A');
      await h.call('GET', '/v1/keyspaces', undefined, null);
      const logged = lines
        .slice(mark)
        .map((l) => JSON.parse(l) as { msg?: string; reqId?: string; res?: { statusCode?: number } })
        .filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
      expect(logged.map((l) => [l.msg, l.res?.statusCode])).toEqual([
        ['incoming request', undefined],
        ['request completed', 200],
        ['incoming request', undefined],
        ['request completed', 404],
        ['incoming request', undefined],
        ['request completed', 400],
        ['incoming request', undefined],
        ['request completed', 401],
      ]);
      // Both lines of an answer carry its request id.
      for (let i = 0; i < logged.length; i += 2) expect(logged[i + 1]?.reqId).toBe(logged[i]?.reqId);
    } finally {
      await h.close();
    }
  });

  it('at debug logs each verification too', async () => {
    const lines: string[] = [];
    const h = await harness({ logLines: lines, logLevel: 'debug' });
    try {
      const ks = await createKeyspace(h);
      const { key } = await createKey(h, ks.id);
      const before = requestLines(lines).length;
      await verify(h, { key });
      const after = requestLines(lines).slice(before);
      expect(after.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
      expect(lines.join('\n')).not.toContain(key);
    } finally {
      await h.close();
    }
  });
});

describe('verifications over real connections (KEYWARD_WRITE_COALESCING)', () => {
  for (const setting of ['on', 'off'] as const) {
    it(`answers concurrent verifications on keep-alive connections, each its own key, writes coalescing ${setting}`, async () => {
      const h = await harness({ env: { KEYWARD_WRITE_COALESCING: setting } });
      const sockets: Socket[] = [];
      h.app.server.on('connection', (s: Socket) => sockets.push(s));
      try {
        const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
        const ks = await createKeyspace(h);
        const keys: { id: string; key: string }[] = [];
        for (let i = 0; i < 20; i++) keys.push(await createKey(h, ks.id, { name: `k${i}` }));
        const asked = Array.from(
          { length: 200 },
          (_, i) => keys[i % keys.length] as { id: string; key: string },
        );
        const answers = await Promise.all(
          asked.map(async ({ key }) => {
            const res = await fetch(`${url}/v1/keys/verify`, {
              method: 'POST',
              headers: { authorization: `Bearer ${h.rootKey}`, 'content-type': 'application/json' },
              body: JSON.stringify({ key }),
            });
            return { status: res.status, body: (await res.json()) as { code: string; keyId: string } };
          }),
        );
        expect(answers.map((a) => [a.status, a.body.code, a.body.keyId])).toEqual(
          asked.map(({ id }) => [200, 'VALID', id]),
        );
        // Every accepted connection got the deferred writes when on, none when off.
        expect(sockets.length).toBeGreaterThan(0);
        for (const s of sockets) expect(Object.hasOwn(s, '_write')).toBe(setting === 'on');
      } finally {
        await h.close();
      }
    });
  }
});
