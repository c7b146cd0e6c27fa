import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, expectProblem, forgeKey, HOUR, SECOND, verify } from './fixtures.js';

describe('POST /v1/self/rotate', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  const selfRotate = (key: string | null) => h.call('POST', '/v1/self/rotate', undefined, key);

  it('gives the consumer a working replacement; the old key dies at the end of the grace period', async () => {
    const ks = await createKeyspace(h, { rotation: { selfRotation: true, gracePeriodSeconds: 600 } });
    const old = await createKey(h, ks.id, { ownerId: 'acme', scopes: ['docs.read'] });

    const res = await selfRotate(old.key);

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      replaces: old.id,
      keyspaceId: ks.id,
      graceEndsAt: new Date(h.clock.now() + 600 * SECOND).toISOString(),
    });
    expect(res.body.key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(await verify(h, { key: res.body.key, scopes: 'docs.read' })).toMatchObject({
      code: 'VALID',
      ownerId: 'acme',
    });
    expect((await verify(h, { key: old.key })).code).toBe('VALID');
    h.clock.advance(600 * SECOND);
    expect((await verify(h, { key: old.key })).code).toBe('EXPIRED');
    expect((await verify(h, { key: res.body.key })).code).toBe('VALID');
    const audit = await h.call('GET', `/v1/audit?action=key.rotated&targetId=${old.id}`);
    expect(audit.body.items[0]).toMatchObject({
      actor: `key:${old.id}`,
      data: expect.objectContaining({ cause: 'self' }),
    });
  });

  it('does not mint a second replacement during the grace period', async () => {
    const ks = await createKeyspace(h, { rotation: { selfRotation: true, gracePeriodSeconds: 600 } });
    const old = await createKey(h, ks.id);
    expect((await selfRotate(old.key)).status).toBe(201);
    expectProblem(await selfRotate(old.key), 409, 'KEY_ALREADY_REPLACED');
    const keys = await h.call('GET', `/v1/keyspaces/${ks.id}/keys`);
    expect(keys.body.items).toHaveLength(2);
  });

  it('keeps the old key no longer than its scheduled grace end when it was already due', async () => {
    const ks = await createKeyspace(h, {
      rotation: { selfRotation: true, maxAgeSeconds: 3600, gracePeriodSeconds: 1800 },
    });
    const old = await createKey(h, ks.id);
    const created = Date.parse(String(old.createdAt));
    h.clock.advance(HOUR + SECOND);
    await h.services.scheduler.tick();
    h.clock.advance(1500 * SECOND);
    const res = await selfRotate(old.key);
    expect(res.body.graceEndsAt).toBe(new Date(created + HOUR + 1800 * SECOND).toISOString());
  });

  it('answers 401 for an unknown or revoked key, 403 where the keyspace does not allow it', async () => {
    const allowed = await createKeyspace(h, { rotation: { selfRotation: true } });
    const closed = await createKeyspace(h);
    const revoked = await createKey(h, allowed.id);
    await h.call('POST', `/v1/keys/${revoked.id}/revoke`, {});
    const notAllowed = await createKey(h, closed.id);
    expectProblem(await selfRotate(forgeKey('kw')), 401, 'UNAUTHORIZED');
    expectProblem(await selfRotate(null), 401, 'UNAUTHORIZED');
    expectProblem(await selfRotate(revoked.key), 401, 'UNAUTHORIZED');
    expectProblem(await selfRotate(notAllowed.key), 403, 'PERMISSION_DENIED');
    // A root key is not an API key: it cannot use this route either.
    expectProblem(await selfRotate(h.rootKey), 401, 'UNAUTHORIZED');
  });

  it('is rate limited per key lineage', async () => {
    const ks = await createKeyspace(h, { rotation: { selfRotation: true, gracePeriodSeconds: 0 } });
    let current = (await createKey(h, ks.id)).key;
    for (let i = 0; i < 10; i++) {
      const res = await selfRotate(current);
      expect(res.status).toBe(201);
      current = res.body.key;
    }
    const limited = await selfRotate(current);
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(limited.headers['retry-after']).toBeDefined();
  });
});
