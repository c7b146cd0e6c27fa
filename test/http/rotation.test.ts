import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, expectProblem, HOUR, SECOND, verify } from './fixtures.js';

describe('POST /v1/keys/{id}/rotate', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness();
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  it('answers 201 with a new key, its plaintext and replaces; the old key shows replacedBy', async () => {
    const old = await createKey(h, ks.id);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^key_/),
      key: expect.stringMatching(/^kw_[0-9A-Za-z]{38}$/),
      replaces: old.id,
      replacedBy: null,
      status: 'active',
    });
    expect(res.body.id).not.toBe(old.id);
    expect(res.body.key).not.toBe(old.key);
    expect((await h.call('GET', `/v1/keys/${old.id}`)).body.replacedBy).toBe(res.body.id);
  });

  it('verifies the new key as VALID at once', async () => {
    const old = await createKey(h, ks.id);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(await verify(h, { key: res.body.key })).toMatchObject({ valid: true, keyId: res.body.id });
  });

  it('without a grace period stops the old key at once: EXPIRED, expiresAt now', async () => {
    const old = await createKey(h, ks.id);
    expect((await verify(h, { key: old.key })).code).toBe('VALID');

    await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(await verify(h, { key: old.key })).toMatchObject({ valid: false, code: 'EXPIRED' });
    expect((await h.call('GET', `/v1/keys/${old.id}`)).body).toMatchObject({
      status: 'expired',
      expiresAt: '2026-01-15T12:00:00.000Z',
    });
  });

  it('accepts a request without a body (grace 0)', async () => {
    const old = await createKey(h, ks.id);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`);

    expect(res.status).toBe(201);
    expect((await verify(h, { key: old.key })).code).toBe('EXPIRED');
  });

  describe('with gracePeriodSeconds 3600', () => {
    let old: { id: string; key: string };
    beforeEach(async () => {
      old = await createKey(h, ks.id);
      await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });
    });

    it('shows the end of the grace period as the old key’s expiresAt', async () => {
      const res = await h.call('GET', `/v1/keys/${old.id}`);

      expect(res.body).toMatchObject({ status: 'active', expiresAt: '2026-01-15T13:00:00.000Z' });
    });

    it('keeps the old key VALID until the last millisecond of the grace period', async () => {
      h.clock.advance(HOUR - 1);

      expect((await verify(h, { key: old.key })).code).toBe('VALID');
    });

    it('verifies the old key as EXPIRED once the clock reaches the end of the grace period', async () => {
      expect((await verify(h, { key: old.key })).code).toBe('VALID');

      h.clock.advance(HOUR);

      expect((await verify(h, { key: old.key })).code).toBe('EXPIRED');
    });
  });

  it('never extends an earlier existing expiry', async () => {
    const old = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:01:00.000Z' });

    await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });

    expect((await h.call('GET', `/v1/keys/${old.id}`)).body.expiresAt).toBe('2026-01-15T12:01:00.000Z');
    h.clock.advance(60 * SECOND);
    expect((await verify(h, { key: old.key })).code).toBe('EXPIRED');
  });

  it('copies name, owner, meta, scopes, restrictions and rate limits to the new key', async () => {
    const old = await createKey(h, ks.id, {
      name: 'ci',
      ownerId: 'user_1',
      meta: { plan: 'pro' },
      scopes: ['docs.read'],
      restrictions: { ips: ['10.0.0.0/8'], origins: ['https://app.example.com'] },
      ratelimits: [{ name: 'per-second', limit: 5, windowMs: 1000 }],
    });

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(res.body).toMatchObject({
      keyspaceId: ks.id,
      name: 'ci',
      ownerId: 'user_1',
      meta: { plan: 'pro' },
      scopes: ['docs.read'],
      restrictions: { ips: ['10.0.0.0/8'], origins: ['https://app.example.com'] },
      ratelimits: [{ name: 'per-second', limit: 5, windowMs: 1000 }],
    });
  });

  it('shares the credit balance between old and new key', async () => {
    const old = await createKey(h, ks.id, { credits: { remaining: 10 } });
    const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 60 });

    await h.call('PATCH', `/v1/keys/${rotated.body.id}`, { credits: { increment: 5 } });

    expect(rotated.body.credits).toEqual({ remaining: 10, refill: null });
    expect((await h.call('GET', `/v1/keys/${old.id}`)).body.credits).toEqual({ remaining: 15, refill: null });
  });

  it('takes the new key’s expiry from the keyspace default, not from the old key', async () => {
    const withDefault = await createKeyspace(h, { defaults: { expiresInSeconds: 86400 } });
    const old = await createKey(h, withDefault.id, { expiresAt: '2026-01-15T18:00:00.000Z' });
    h.clock.advance(HOUR);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(res.body.expiresAt).toBe('2026-01-16T13:00:00.000Z');
  });

  it('gives the new key no expiry when the keyspace has no default', async () => {
    const old = await createKey(h, ks.id, { expiresAt: '2026-01-15T18:00:00.000Z' });

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect(res.body.expiresAt).toBeNull();
  });

  it('refuses to rotate a revoked key with 409', async () => {
    const old = await createKey(h, ks.id);
    await h.call('POST', `/v1/keys/${old.id}/revoke`, {});

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expectProblem(res, 409);
  });

  it('refuses to rotate an expired key with 409', async () => {
    const old = await createKey(h, ks.id, { expiresAt: '2026-01-15T12:00:01.000Z' });
    h.clock.advance(SECOND);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expectProblem(res, 409);
  });

  it('refuses to rotate a key that was already replaced with 409, even inside its grace period', async () => {
    const old = await createKey(h, ks.id);
    await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expectProblem(res, 409);
  });

  it('leaves nothing behind when it refuses: no new key is listed', async () => {
    const old = await createKey(h, ks.id);
    await h.call('POST', `/v1/keys/${old.id}/revoke`, {});

    await h.call('POST', `/v1/keys/${old.id}/rotate`, {});

    expect((await h.call('GET', `/v1/keyspaces/${ks.id}/keys`)).body.items).toHaveLength(1);
  });

  it('issues exactly one replacement when the same key is rotated concurrently', async () => {
    const old = await createKey(h, ks.id);

    const answers = await Promise.all(
      [1, 2, 3].map(() => h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 60 })),
    );

    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect((await h.call('GET', `/v1/keyspaces/${ks.id}/keys`)).body.items).toHaveLength(2);
  });

  it('refuses a negative grace period with 400', async () => {
    const old = await createKey(h, ks.id);

    const res = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: -1 });

    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('rotates the replacement again (a chain of rotations)', async () => {
    const first = await createKey(h, ks.id);
    const second = await h.call('POST', `/v1/keys/${first.id}/rotate`, {});

    const third = await h.call('POST', `/v1/keys/${second.body.id}/rotate`, {});

    expect(third.status).toBe(201);
    expect(third.body.replaces).toBe(second.body.id);
  });
});
