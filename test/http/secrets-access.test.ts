import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { allAuditEntries, expectProblem } from './fixtures.js';

/**
 * `secrets.read:<glob>` and `secrets.write:<glob>`, in every direction: what a grant covers,
 * what it does not (404 when the caller may not read the path, 403 when it may read but not
 * write), and that a workspace never sees another's secrets.
 */
describe('vault access by path glob', () => {
  let h: Harness;
  const PATHS = [
    'payments',
    'payments/stripe',
    'payments/stripe/live',
    'payments/adyen',
    'payments2/other',
    'ci/deploy-token',
    'stripe-live/key',
    'stripe-test/key',
  ];
  beforeAll(async () => {
    h = await harness();
    for (const path of PATHS) {
      const res = await h.call('PUT', `/v1/secrets/${path}`, { value: `value of ${path}` });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => h.close());

  const read = (path: string, key: string) => h.call('GET', `/v1/secrets/${path}`, undefined, key);
  const write = (path: string, key: string) => h.call('PUT', `/v1/secrets/${path}`, { value: 'new' }, key);

  /** What a root key with `grants` may read, and may write, among PATHS. */
  async function reach(grants: string[]) {
    const key = await h.rootKeyWith(grants);
    const readable: string[] = [];
    for (const path of PATHS) {
      const res = await read(path, key);
      if (res.status === 200) readable.push(path);
      else expectProblem(res, 404, 'NOT_FOUND');
    }
    const writable: string[] = [];
    const forbidden: string[] = [];
    for (const path of PATHS) {
      // PATCH writes no version: the probe leaves the secrets as they were.
      const res = await h.call('PATCH', `/v1/secrets/${path}`, { meta: { probe: true } }, key);
      if (res.status === 200) writable.push(path);
      else if (res.status === 403) forbidden.push(path);
      else expectProblem(res, 404, 'NOT_FOUND');
    }
    return { readable, writable, forbidden };
  }

  it.each([
    [
      'secrets.read:payments/*',
      ['secrets.read:payments/*'],
      ['payments/stripe', 'payments/stripe/live', 'payments/adyen'],
    ],
    [
      'secrets.read:payments (a prefix covers whole segments only)',
      ['secrets.read:payments'],
      ['payments', 'payments/stripe', 'payments/stripe/live', 'payments/adyen'],
    ],
    [
      'secrets.read:payments/stripe',
      ['secrets.read:payments/stripe'],
      ['payments/stripe', 'payments/stripe/live'],
    ],
    [
      'secrets.read:payments/**',
      ['secrets.read:payments/**'],
      ['payments', 'payments/stripe', 'payments/stripe/live', 'payments/adyen'],
    ],
    ['secrets.read:stripe-*/key', ['secrets.read:stripe-*/key'], ['stripe-live/key', 'stripe-test/key']],
    ['secrets.read:*/key', ['secrets.read:*/key'], ['stripe-live/key', 'stripe-test/key']],
    ['secrets.read:*', ['secrets.read:*'], PATHS],
    ['two grants', ['secrets.read:ci/*', 'secrets.read:payments2'], ['payments2/other', 'ci/deploy-token']],
  ])('%s reads exactly what it covers, and writes nothing (403)', async (_, grants, expected) => {
    const { readable, writable, forbidden } = await reach(grants);

    expect(readable).toEqual(PATHS.filter((p) => expected.includes(p)));
    expect(writable).toEqual([]);
    expect(forbidden).toEqual(readable);
  });

  it('a write-only grant writes under its glob, yet reads nothing there (404)', async () => {
    const { readable, writable, forbidden } = await reach(['secrets.write:ci/*']);

    expect({ readable, writable, forbidden }).toEqual({
      readable: [],
      writable: ['ci/deploy-token'],
      forbidden: [],
    });
  });

  it('read everywhere and write under one prefix: 403 elsewhere', async () => {
    const { writable, forbidden } = await reach(['secrets.read:*', 'secrets.write:payments/*']);

    expect(writable).toEqual(['payments/stripe', 'payments/stripe/live', 'payments/adyen']);
    expect(forbidden).toEqual(PATHS.filter((p) => !writable.includes(p)));
  });

  it('* reads and writes everything', async () => {
    const { readable, writable } = await reach(['*']);

    expect(readable).toEqual(PATHS);
    expect(writable).toEqual(PATHS);
  });

  it('keys permissions grant no secret: every path is 404, the listing 403', async () => {
    const key = await h.rootKeyWith(['keys.read', 'keys.create', 'audit.read', 'root_keys.write']);

    expectProblem(await read('payments/stripe', key), 404, 'NOT_FOUND');
    expectProblem(await write('payments/stripe', key), 404, 'NOT_FOUND');
    expectProblem(await h.call('DELETE', '/v1/secrets/payments/stripe', undefined, key), 404, 'NOT_FOUND');
    expectProblem(
      await h.call('POST', '/v1/secrets/payments/stripe:restore', undefined, key),
      404,
      'NOT_FOUND',
    );
    expectProblem(await h.call('GET', '/v1/secrets', undefined, key), 403, 'PERMISSION_DENIED');
  });

  it('a path the caller may not read looks the same whether it exists or not', async () => {
    const key = await h.rootKeyWith(['secrets.read:payments/*']);

    const existing = await read('ci/deploy-token', key);
    const missing = await read('ci/never-written', key);

    expect([existing.status, existing.body.code, existing.body.title]).toEqual([
      missing.status,
      missing.body.code,
      missing.body.title,
    ]);
  });

  it('lists only what the caller may read, even across pages', async () => {
    const key = await h.rootKeyWith(['secrets.read:payments/*']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<Harness['call']>> = await h.call(
        'GET',
        `/v1/secrets?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        key,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((s: { path: string }) => s.path));
      cursor = res.body.nextCursor;
    } while (cursor);

    expect(seen.sort()).toEqual(['payments/adyen', 'payments/stripe', 'payments/stripe/live']);
  });

  it('audits every denied attempt, with the path and what was missing', async () => {
    const key = await h.rootKeyWith(['secrets.read:payments/*']);

    await read('ci/deploy-token', key);
    await write('payments/stripe', key);

    const denials = (await allAuditEntries(h)).filter((e) => e.action === 'secret.access_denied').slice(-2);
    expect(denials).toMatchObject([
      { targetId: 'ci/deploy-token', data: { operation: 'read', needed: 'secrets.read', status: 404 } },
      { targetId: 'payments/stripe', data: { operation: 'write', needed: 'secrets.write', status: 403 } },
    ]);
  });

  it("never shows another workspace's secrets, even to a * root key, and keeps their namespaces apart", async () => {
    const other = await h.rootKeyWith(['*'], 'other-workspace');

    expectProblem(await read('payments/stripe', other), 404, 'NOT_FOUND');
    expect((await h.call('GET', '/v1/secrets', undefined, other)).body.items).toEqual([]);
    expect((await write('payments/stripe', other)).body.version).toBe(1);
    expect((await read('payments/stripe', other)).body.value).toBe('new');
    expect((await read('payments/stripe', h.rootKey)).body.value).toBe('value of payments/stripe');
  });

  it('lets a root key hand out only secret grants it covers', async () => {
    const key = await h.rootKeyWith(['root_keys.write', 'secrets.read:*', 'secrets.write:payments/*']);
    const create = (permissions: string[]) => h.call('POST', '/v1/root-keys', { permissions }, key);

    expect((await create(['secrets.read:payments/stripe'])).status).toBe(201);
    expect((await create(['secrets.write:payments/*'])).status).toBe(201);
    expectProblem(await create(['secrets.write:ci/*']), 403, 'PERMISSION_DENIED');
  });
});
