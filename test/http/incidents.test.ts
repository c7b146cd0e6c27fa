import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, expectProblem, verify } from './fixtures.js';

const MINUTE_MS = 60_000;

describe('emergency revocation and incidents', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  it('revokes every matching key at once, so none of them verifies afterwards', async () => {
    const ks = await createKeyspace(h);
    const other = await createKeyspace(h);
    const leaked = await Promise.all(
      Array.from({ length: 30 }, () => createKey(h, ks.id, { ownerId: 'acme' })),
    );
    const bystander = await createKey(h, ks.id, { ownerId: 'globex' });
    const elsewhere = await createKey(h, other.id, { ownerId: 'acme' });
    for (const k of leaked) expect((await verify(h, { key: k.key })).code).toBe('VALID');

    const res = await h.call('POST', '/v1/keys/revoke', {
      filter: { keyspaceId: ks.id, ownerId: 'acme' },
      reason: 'keys pasted in a public gist',
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 30, incidentId: expect.stringMatching(/^inc_/) });
    for (const k of leaked) expect((await verify(h, { key: k.key })).code).toBe('REVOKED');
    expect((await verify(h, { key: bystander.key })).code).toBe('VALID');
    expect((await verify(h, { key: elsewhere.key })).code).toBe('VALID');
  });

  it('counts only keys newly revoked, and records one key.revoked event per key', async () => {
    const ks = await createKeyspace(h);
    const a = await createKey(h, ks.id, { ownerId: 'acme' });
    await createKey(h, ks.id, { ownerId: 'acme' });
    await h.call('POST', `/v1/keys/${a.id}/revoke`, { reason: 'earlier' });
    const res = await h.call('POST', '/v1/keys/revoke', { filter: { ownerId: 'acme' }, reason: 'sweep' });
    expect(res.body.revoked).toBe(1);
    const ws = (await h.services.store.getWorkspaceByName('default'))?.id ?? '';
    const events = await h.services.store.listEvents(ws, { type: 'key.revoked', limit: 100 });
    expect(events.filter((e) => e.data.incidentId === res.body.incidentId)).toHaveLength(1);
  });

  it('filters by creation time', async () => {
    const ks = await createKeyspace(h);
    const old = await createKey(h, ks.id, { ownerId: 'acme' });
    h.clock.advance(10 * MINUTE_MS);
    const cutoff = new Date(h.clock.now()).toISOString();
    h.clock.advance(10 * MINUTE_MS);
    const recent = await createKey(h, ks.id, { ownerId: 'acme' });
    const res = await h.call('POST', '/v1/keys/revoke', {
      filter: { ownerId: 'acme', createdAfter: cutoff },
      reason: 'only the recent ones',
    });
    expect(res.body.revoked).toBe(1);
    expect((await verify(h, { key: recent.key })).code).toBe('REVOKED');
    expect((await verify(h, { key: old.key })).code).toBe('VALID');
  });

  it('refuses a filter without keyspaceId or ownerId, and a missing reason', async () => {
    expectProblem(
      await h.call('POST', '/v1/keys/revoke', { filter: {}, reason: 'x' }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await h.call('POST', '/v1/keys/revoke', { filter: { ownerId: 'acme' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers 404 for another workspace’s keyspace and 403 without keys.revoke', async () => {
    const ks = await createKeyspace(h);
    const stranger = await h.rootKeyWith(['*'], 'other-tenant');
    expectProblem(
      await h.call('POST', '/v1/keys/revoke', { filter: { keyspaceId: ks.id }, reason: 'x' }, stranger),
      404,
      'NOT_FOUND',
    );
    const reader = await h.rootKeyWith(['keys.read']);
    expectProblem(
      await h.call('POST', '/v1/keys/revoke', { filter: { keyspaceId: ks.id }, reason: 'x' }, reader),
      403,
      'PERMISSION_DENIED',
    );
  });

  it('reports what was revoked, why, by whom, and the usage of the keys around it', async () => {
    const ks = await createKeyspace(h);
    const k = await createKey(h, ks.id, { ownerId: 'acme' });
    await verify(h, { key: k.key, ip: '198.51.100.7' });
    h.clock.advance(MINUTE_MS);
    await verify(h, { key: k.key, ip: '203.0.113.9', scopes: 'admin' });
    await h.services.usage.flush();
    h.clock.advance(MINUTE_MS);
    const { body } = await h.call('POST', '/v1/keys/revoke', { filter: { ownerId: 'acme' }, reason: 'leak' });
    h.clock.advance(MINUTE_MS);
    await verify(h, { key: k.key, ip: '203.0.113.9' });
    await h.services.usage.flush();

    const res = await h.call('GET', `/v1/incidents/${body.incidentId}`);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: body.incidentId, reason: 'leak', status: 'open', keys: [k.id] });
    expect(res.body.timeline.map((t: { event: string }) => t.event)).toEqual([
      'key.verified',
      'key.verified',
      'incident.declared',
      'key.revoked',
      'key.verified',
    ]);
    expect(res.body.timeline.at(-1).detail).toMatchObject({ code: 'REVOKED', ip: '203.0.113.9' });
    expect(res.body.usage).toEqual([
      expect.objectContaining({
        keyId: k.id,
        verifications: 3,
        failures: 2,
        distinctIps: 2,
        attemptsAfterRevocation: 1,
      }),
    ]);
    expect(JSON.stringify(res.body)).not.toContain(k.key);
  });

  it('takes investigation notes, closes, and lists it all in the audit log', async () => {
    const ks = await createKeyspace(h);
    await createKey(h, ks.id, { ownerId: 'acme' });
    const { body } = await h.call('POST', '/v1/keys/revoke', { filter: { ownerId: 'acme' }, reason: 'leak' });
    const noted = await h.call('PATCH', `/v1/incidents/${body.incidentId}`, {
      note: 'rotated the CI secret',
    });
    expect(noted.body.notes).toEqual([expect.objectContaining({ text: 'rotated the CI secret' })]);
    const closed = await h.call('PATCH', `/v1/incidents/${body.incidentId}`, { status: 'closed' });
    expect(closed.body).toMatchObject({ status: 'closed', closedAt: expect.any(String) });
    expectProblem(
      await h.call('PATCH', `/v1/incidents/${body.incidentId}`, { note: 'late' }),
      409,
      'CONFLICT',
    );
    // Closing it again changes nothing and writes nothing.
    h.clock.advance(MINUTE_MS);
    const again = await h.call('PATCH', `/v1/incidents/${body.incidentId}`, { status: 'closed' });
    expect(again.status).toBe(200);
    expect(again.body.closedAt).toBe(closed.body.closedAt);
    const audit = await h.call('GET', `/v1/audit?targetId=${body.incidentId}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual([
      'incident.closed',
      'incident.updated',
      'incident.created',
    ]);
  });

  it('answers 404 for an unknown incident and another workspace’s', async () => {
    const ks = await createKeyspace(h);
    await createKey(h, ks.id, { ownerId: 'acme' });
    const { body } = await h.call('POST', '/v1/keys/revoke', { filter: { ownerId: 'acme' }, reason: 'leak' });
    const stranger = await h.rootKeyWith(['*'], 'other-tenant');
    expectProblem(
      await h.call('GET', `/v1/incidents/${body.incidentId}`, undefined, stranger),
      404,
      'NOT_FOUND',
    );
    expectProblem(await h.call('GET', '/v1/incidents/inc_00000000000000000000'), 404, 'NOT_FOUND');
  });
});
