import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock/index.js';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/server/config.js';
import { buildServices } from '../../src/server/services.js';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, expectProblem, type Reply, SECOND, verify } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE = 60 * SECOND;

/** The `remaining` of a verification answer's first rate limit. */
const firstRemaining = (answer: Record<string, unknown>) =>
  (answer.ratelimits as Array<{ remaining: number }> | undefined)?.[0]?.remaining;

describe('per-key rate limits on POST /v1/keys/verify', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness({ now: T0 });
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  it('answers VALID with each limit’s remaining and resetAt while every limit has room', async () => {
    const k = await createKey(h, ks.id, {
      ratelimits: [
        { name: 'burst', limit: 3, windowMs: SECOND },
        { name: 'hourly', limit: 100, windowMs: 3600 * SECOND },
      ],
    });

    const res = await verify(h, { key: k.key });

    expect(res).toMatchObject({ valid: true, code: 'VALID' });
    expect(res.ratelimits).toEqual([
      { name: 'burst', limit: 3, remaining: 2, resetAt: iso(T0 + SECOND) },
      { name: 'hourly', limit: 100, remaining: 99, resetAt: iso(T0 + 3600 * SECOND) },
    ]);
  });

  it('answers RATE_LIMITED with every limit’s state once one limit is full, and spends none of them', async () => {
    const k = await createKey(h, ks.id, {
      ratelimits: [
        { name: 'burst', limit: 2, windowMs: SECOND },
        { name: 'hourly', limit: 100, windowMs: 3600 * SECOND },
      ],
    });
    await verify(h, { key: k.key });
    await verify(h, { key: k.key });

    const refused = await verify(h, { key: k.key });

    expect(refused).toMatchObject({ valid: false, code: 'RATE_LIMITED', keyId: k.id });
    expect(refused.ratelimits).toEqual([
      { name: 'burst', limit: 2, remaining: 0, resetAt: iso(T0 + SECOND) },
      { name: 'hourly', limit: 100, remaining: 98, resetAt: iso(T0 + 3600 * SECOND) },
    ]);
  });

  it('refuses when a later limit is full although the first still has room, spending nothing on the first', async () => {
    const k = await createKey(h, ks.id, {
      ratelimits: [
        { name: 'burst', limit: 5, windowMs: SECOND },
        { name: 'hourly', limit: 3, windowMs: 3600 * SECOND },
      ],
    });
    for (let i = 0; i < 3; i++) expect((await verify(h, { key: k.key })).code).toBe('VALID');
    h.clock.advance(2 * SECOND);

    const refused = await verify(h, { key: k.key });

    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.ratelimits).toEqual([
      { name: 'burst', limit: 5, remaining: 5, resetAt: iso(T0 + 2 * SECOND) },
      { name: 'hourly', limit: 3, remaining: 0, resetAt: iso(T0 + 3600 * SECOND) },
    ]);
  });

  it('spends nothing while refusing: the hourly limit still shows only the admitted calls afterwards', async () => {
    const k = await createKey(h, ks.id, {
      ratelimits: [
        { name: 'burst', limit: 2, windowMs: SECOND },
        { name: 'hourly', limit: 100, windowMs: 3600 * SECOND },
      ],
    });
    for (let i = 0; i < 10; i++) await verify(h, { key: k.key });
    h.clock.advance(SECOND);

    const next = await verify(h, { key: k.key });

    expect(next.code).toBe('VALID');
    expect(next.ratelimits).toMatchObject([
      { name: 'burst', remaining: 1 },
      { name: 'hourly', remaining: 97 },
    ]);
  });

  it('answers a key without rate limits with no ratelimits field', async () => {
    const k = await createKey(h, ks.id);

    const res = await verify(h, { key: k.key });

    expect(res.code).toBe('VALID');
    expect(res).not.toHaveProperty('ratelimits');
  });

  it('does not consult rate limits for a key refused by an earlier check', async () => {
    const k = await createKey(h, ks.id, {
      scopes: ['docs.read'],
      ratelimits: [{ name: 'per-minute', limit: 1, windowMs: MINUTE }],
    });

    const refused = await verify(h, { key: k.key, scopes: 'docs.write' });
    const next = await verify(h, { key: k.key });

    expect(refused.code).toBe('INSUFFICIENT_SCOPES');
    expect(next.code).toBe('VALID');
  });

  describe('keyspace defaults', () => {
    const defaults = [{ name: 'per-minute', limit: 2, windowMs: MINUTE }];

    it('applies the keyspace’s default rate limits to a key created without its own', async () => {
      const withDefaults = await createKeyspace(h, { defaults: { ratelimits: defaults } });
      const k = await createKey(h, withDefaults.id);

      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await verify(h, { key: k.key })).code);

      expect(codes).toEqual(['VALID', 'VALID', 'RATE_LIMITED']);
    });

    it('applies a key’s own rate limits instead of the keyspace’s defaults', async () => {
      const withDefaults = await createKeyspace(h, { defaults: { ratelimits: defaults } });
      const k = await createKey(h, withDefaults.id, {
        ratelimits: [{ name: 'per-minute', limit: 4, windowMs: MINUTE }],
      });

      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await verify(h, { key: k.key })).code);

      expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
    });

    it('gives every key of the keyspace its own counters', async () => {
      const withDefaults = await createKeyspace(h, { defaults: { ratelimits: defaults } });
      const a = await createKey(h, withDefaults.id);
      const b = await createKey(h, withDefaults.id);
      await verify(h, { key: a.key });
      await verify(h, { key: a.key });

      expect((await verify(h, { key: a.key })).code).toBe('RATE_LIMITED');
      expect((await verify(h, { key: b.key })).code).toBe('VALID');
    });
  });

  describe('cost', () => {
    const units = [{ name: 'units', limit: 10, windowMs: MINUTE }];

    it('spends `cost` units, refuses a cost that does not fit and lets a smaller one through', async () => {
      const k = await createKey(h, ks.id, { ratelimits: units });

      const first = await verify(h, { key: k.key, cost: 4 });
      const second = await verify(h, { key: k.key, cost: 4 });
      const tooBig = await verify(h, { key: k.key, cost: 4 });
      const fits = await verify(h, { key: k.key, cost: 2 });

      expect([first, second, tooBig, fits].map((r) => [r.code, firstRemaining(r)])).toEqual([
        ['VALID', 6],
        ['VALID', 2],
        ['RATE_LIMITED', 2],
        ['VALID', 0],
      ]);
    });

    it('refuses a cost larger than the whole limit, even on an empty window', async () => {
      const k = await createKey(h, ks.id, { ratelimits: units });

      const res = await verify(h, { key: k.key, cost: 11 });

      expect(res.code).toBe('RATE_LIMITED');
      expect(res.ratelimits).toMatchObject([{ remaining: 10 }]);
    });

    it('peeks with cost 0: VALID with the remaining units, and spends nothing however often', async () => {
      const k = await createKey(h, ks.id, { ratelimits: units });
      await verify(h, { key: k.key, cost: 3 });

      const peeks = [];
      for (let i = 0; i < 20; i++) peeks.push(await verify(h, { key: k.key, cost: 0 }));
      const spend = await verify(h, { key: k.key, cost: 7 });

      expect(new Set(peeks.map((p) => `${p.code}:${firstRemaining(p)}`))).toEqual(new Set(['VALID:7']));
      expect(spend).toMatchObject({ code: 'VALID', ratelimits: [{ remaining: 0 }] });
    });

    it('answers a peek with cost 0 RATE_LIMITED once the window is full', async () => {
      const k = await createKey(h, ks.id, { ratelimits: units });
      await verify(h, { key: k.key, cost: 10 });

      const peek = await verify(h, { key: k.key, cost: 0 });

      expect(peek).toMatchObject({ valid: false, code: 'RATE_LIMITED', ratelimits: [{ remaining: 0 }] });
    });
  });

  describe('the sliding window', () => {
    const spec = [{ name: 'per-minute', limit: 3, windowMs: MINUTE }];

    it('allows no burst across a window boundary: a full window at :59 still refuses at :01', async () => {
      const k = await createKey(h, ks.id, { ratelimits: spec });
      h.clock.set(Date.parse('2026-01-15T12:00:59.000Z'));
      for (let i = 0; i < 3; i++) expect((await verify(h, { key: k.key })).code).toBe('VALID');

      h.clock.set(Date.parse('2026-01-15T12:01:01.000Z'));
      const afterBoundary = await verify(h, { key: k.key });

      expect(afterBoundary.code).toBe('RATE_LIMITED');
      expect(afterBoundary.ratelimits).toEqual([
        { name: 'per-minute', limit: 3, remaining: 0, resetAt: '2026-01-15T12:01:59.000Z' },
      ]);
    });

    it('frees room exactly when the oldest admitted call leaves the window, one call at a time', async () => {
      const k = await createKey(h, ks.id, { ratelimits: spec });
      await verify(h, { key: k.key });
      h.clock.advance(20 * SECOND);
      await verify(h, { key: k.key });
      await verify(h, { key: k.key });

      h.clock.set(T0 + MINUTE - 1);
      const justBefore = await verify(h, { key: k.key });
      h.clock.set(T0 + MINUTE);
      const atReset = await verify(h, { key: k.key });
      const again = await verify(h, { key: k.key });

      expect(justBefore).toMatchObject({ code: 'RATE_LIMITED', ratelimits: [{ resetAt: iso(T0 + MINUTE) }] });
      expect(atReset).toMatchObject({ code: 'VALID', ratelimits: [{ remaining: 0 }] });
      expect(again).toMatchObject({
        code: 'RATE_LIMITED',
        ratelimits: [{ remaining: 0, resetAt: iso(T0 + 20 * SECOND + MINUTE) }],
      });
    });

    it('has the whole limit again once a full window has passed without calls', async () => {
      const k = await createKey(h, ks.id, { ratelimits: spec });
      for (let i = 0; i < 3; i++) await verify(h, { key: k.key });
      h.clock.advance(MINUTE);

      const res = await verify(h, { key: k.key });

      expect(res).toMatchObject({ code: 'VALID', ratelimits: [{ remaining: 2 }] });
    });

    it('never admits more than the limit in any window over a long run of calls', async () => {
      const k = await createKey(h, ks.id, { ratelimits: [{ name: 'd', limit: 5, windowMs: 10 * SECOND }] });
      const admitted: number[] = [];
      for (let t = T0; t < T0 + 120 * SECOND; t += 700) {
        h.clock.set(t);
        if ((await verify(h, { key: k.key })).code === 'VALID') admitted.push(t);
      }

      const worst = Math.max(
        ...admitted.map((t) => admitted.filter((a) => a > t - 10 * SECOND && a <= t).length),
      );
      expect(worst).toBe(5);
      expect(admitted.length).toBeGreaterThanOrEqual(55);
    });
  });

  describe('rotation', () => {
    it('shares one set of counters between a rotated key and its predecessor', async () => {
      const old = await createKey(h, ks.id, {
        ratelimits: [{ name: 'per-minute', limit: 3, windowMs: MINUTE }],
      });
      await verify(h, { key: old.key });
      await verify(h, { key: old.key });
      const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });
      expect(rotated.status).toBe(201);

      const fresh = await verify(h, { key: rotated.body.key });
      const freshAgain = await verify(h, { key: rotated.body.key });
      const oldAgain = await verify(h, { key: old.key });

      expect(fresh).toMatchObject({ code: 'VALID', ratelimits: [{ remaining: 0 }] });
      expect(freshAgain.code).toBe('RATE_LIMITED');
      expect(oldAgain.code).toBe('RATE_LIMITED');
    });
  });

  describe('with credits', () => {
    it('spends no credits on a call refused by a rate limit', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 10 },
        ratelimits: [{ name: 'per-minute', limit: 1, windowMs: MINUTE }],
      });
      const admitted = await verify(h, { key: k.key });

      const refused = [];
      for (let i = 0; i < 5; i++) refused.push(await verify(h, { key: k.key }));

      expect(admitted).toMatchObject({ code: 'VALID', credits: { remaining: 9 } });
      expect(refused.map((r) => r.code)).toEqual(Array(5).fill('RATE_LIMITED'));
      expect((await h.call('GET', `/v1/keys/${k.id}`)).body.credits.remaining).toBe(9);
    });
  });
});

describe('POST /v1/ratelimit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ now: T0 });
  });
  afterEach(async () => h.close());

  const body = (extra: Record<string, unknown> = {}) => ({
    namespace: 'login',
    identifier: 'user-1',
    limit: 3,
    windowMs: MINUTE,
    ...extra,
  });

  it('answers success, limit, remaining and resetAt, then success false once the limit is spent', async () => {
    const answers: Reply[] = [];
    for (let i = 0; i < 4; i++) answers.push(await h.call('POST', '/v1/ratelimit', body()));

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((a) => a.body)).toEqual([
      { success: true, limit: 3, remaining: 2, resetAt: iso(T0 + MINUTE) },
      { success: true, limit: 3, remaining: 1, resetAt: iso(T0 + MINUTE) },
      { success: true, limit: 3, remaining: 0, resetAt: iso(T0 + MINUTE) },
      { success: false, limit: 3, remaining: 0, resetAt: iso(T0 + MINUTE) },
    ]);
  });

  it('spends `cost` and peeks with cost 0', async () => {
    const spent = await h.call('POST', '/v1/ratelimit', body({ cost: 2 }));
    const peek = await h.call('POST', '/v1/ratelimit', body({ cost: 0 }));
    const tooBig = await h.call('POST', '/v1/ratelimit', body({ cost: 2 }));

    expect(spent.body).toMatchObject({ success: true, remaining: 1 });
    expect(peek.body).toMatchObject({ success: true, remaining: 1 });
    expect(tooBig.body).toMatchObject({ success: false, remaining: 1 });
  });

  it('slides: room again once the window has passed', async () => {
    for (let i = 0; i < 3; i++) await h.call('POST', '/v1/ratelimit', body());
    h.clock.advance(MINUTE - 1);
    const before = await h.call('POST', '/v1/ratelimit', body());
    h.clock.advance(1);
    const after = await h.call('POST', '/v1/ratelimit', body());

    expect(before.body.success).toBe(false);
    expect(after.body).toMatchObject({ success: true, remaining: 2, resetAt: iso(T0 + 2 * MINUTE) });
  });

  it('keeps identifiers and namespaces apart', async () => {
    for (let i = 0; i < 3; i++) await h.call('POST', '/v1/ratelimit', body());

    const otherIdentifier = await h.call('POST', '/v1/ratelimit', body({ identifier: 'user-2' }));
    const otherNamespace = await h.call('POST', '/v1/ratelimit', body({ namespace: 'sms' }));

    expect(otherIdentifier.body).toMatchObject({ success: true, remaining: 2 });
    expect(otherNamespace.body).toMatchObject({ success: true, remaining: 2 });
  });

  it('keeps namespaces of different workspaces apart', async () => {
    const other = await h.rootKeyWith(['ratelimit.limit'], 'other');
    for (let i = 0; i < 3; i++) await h.call('POST', '/v1/ratelimit', body());

    const sameNamesElsewhere = await h.call('POST', '/v1/ratelimit', body(), other);

    expect(sameNamesElsewhere.body).toMatchObject({ success: true, remaining: 2 });
  });

  it('does not share counters with a key whose rate limit has the same name', async () => {
    const ks = await createKeyspace(h);
    const k = await createKey(h, ks.id, { ratelimits: [{ name: 'login', limit: 3, windowMs: MINUTE }] });
    for (let i = 0; i < 3; i++) await h.call('POST', '/v1/ratelimit', body({ identifier: k.id }));

    expect((await verify(h, { key: k.key })).code).toBe('VALID');
  });

  it.each([
    ['a namespace with a colon', { namespace: 'login:x' }, '/namespace'],
    ['an empty namespace', { namespace: '' }, '/namespace'],
    ['a namespace with a space', { namespace: 'log in' }, '/namespace'],
    ['an empty identifier', { identifier: '' }, '/identifier'],
    ['a limit of 0', { limit: 0 }, '/limit'],
    ['a window of 0', { windowMs: 0 }, '/windowMs'],
    ['a negative cost', { cost: -1 }, '/cost'],
  ])('answers 400 for %s', async (_label, extra, path) => {
    const res = await h.call('POST', '/v1/ratelimit', body(extra));

    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });

  it('answers 403 to a root key without ratelimit.limit', async () => {
    const verifier = await h.rootKeyWith(['keys.verify']);

    expectProblem(await h.call('POST', '/v1/ratelimit', body(), verifier), 403, 'PERMISSION_DENIED');
  });

  it('answers 200 to a root key with only ratelimit.limit', async () => {
    const limiter = await h.rootKeyWith(['ratelimit.limit']);

    expect((await h.call('POST', '/v1/ratelimit', body(), limiter)).body.success).toBe(true);
  });
});

/** A harness whose root keys may make `limit` calls a second (KEYWARD_ROOT_KEY_RATE_LIMIT). */
async function throttledHarness(limit: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
  const config = loadConfig({ data: dataDir }, { KEYWARD_ROOT_KEY_RATE_LIMIT: String(limit) });
  const clock = new ManualClock(T0);
  const services = await buildServices(config, { clock });
  const boot = await services.workspaces.bootstrap();
  if (!boot) throw new Error('bootstrap did not run on an empty store');
  const app = await buildApp(services);
  return {
    clock,
    rootKey: boot.key,
    services,
    async call(method: 'GET' | 'POST', url: string, key: string | null, payload?: unknown): Promise<Reply> {
      const res = await app.inject({
        method,
        url,
        headers: {
          ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
      return {
        status: res.statusCode,
        body: res.body ? JSON.parse(res.body) : undefined,
        headers: res.headers,
      };
    },
    async close() {
      await app.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('Keyward protects itself: calls per root key', () => {
  let t: Awaited<ReturnType<typeof throttledHarness>>;
  beforeEach(async () => {
    t = await throttledHarness(5);
  });
  afterEach(async () => t.close());

  it('answers 429 problem+json RATE_LIMITED with Retry-After once a root key exceeds its calls a second', async () => {
    for (let i = 0; i < 5; i++) expect((await t.call('GET', '/v1/keyspaces', t.rootKey)).status).toBe(200);

    const res = await t.call('GET', '/v1/keyspaces', t.rootKey);

    expectProblem(res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['ratelimit-policy']).toBe('"root_key";q=5;w=1');
    expect(res.headers.ratelimit).toBe('"root_key";r=0;t=1');
  });

  it('sends RateLimit-Policy and RateLimit headers on successful /v1 answers', async () => {
    const first = await t.call('GET', '/v1/keyspaces', t.rootKey);
    const second = await t.call('GET', '/v1/keyspaces', t.rootKey);

    expect(first.headers['ratelimit-policy']).toBe('"root_key";q=5;w=1');
    expect([first.headers.ratelimit, second.headers.ratelimit]).toEqual([
      '"root_key";r=4;t=1',
      '"root_key";r=3;t=1',
    ]);
  });

  it('limits verification calls too, with the same 429', async () => {
    for (let i = 0; i < 5; i++) await t.call('POST', '/v1/keys/verify', t.rootKey, { key: 'kw_nothing' });

    const res = await t.call('POST', '/v1/keys/verify', t.rootKey, { key: 'kw_nothing' });

    expectProblem(res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('limits each root key on its own: another root key is still served', async () => {
    const other = (
      await t.services.workspaces.createRootKeyOffline({
        workspace: 'default',
        name: null,
        permissions: ['*'],
      })
    ).key;
    for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keyspaces', t.rootKey);

    expect((await t.call('GET', '/v1/keyspaces', t.rootKey)).status).toBe(429);
    expect((await t.call('GET', '/v1/keyspaces', other)).status).toBe(200);
  });

  it('serves the root key again once a second has passed', async () => {
    for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keyspaces', t.rootKey);
    t.clock.advance(SECOND);

    const res = await t.call('GET', '/v1/keyspaces', t.rootKey);

    expect(res.status).toBe(200);
    expect(res.headers.ratelimit).toBe('"root_key";r=4;t=1');
  });

  it('counts a refused call as nothing: after the second, the whole allowance is back', async () => {
    for (let i = 0; i < 50; i++) await t.call('GET', '/v1/keyspaces', t.rootKey);
    t.clock.advance(SECOND);

    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await t.call('GET', '/v1/keyspaces', t.rootKey)).status);

    expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('answers an unknown root key 401, not 429, and leaves health checks unlimited', async () => {
    for (let i = 0; i < 10; i++) await t.call('GET', '/v1/keyspaces', t.rootKey);

    expectProblem(await t.call('GET', '/v1/keyspaces', 'kw_unknown'), 401, 'UNAUTHORIZED');
    expect((await t.call('GET', '/healthz', null)).status).toBe(200);
  });
});
