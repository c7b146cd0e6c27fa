import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, HOUR, SECOND, verify } from './fixtures.js';

describe('scheduled rotation (keyspace rotation.maxAgeSeconds)', () => {
  let h: Harness;
  let workspaceId: string;
  beforeEach(async () => {
    h = await harness();
    workspaceId = (await h.services.store.getWorkspaceByName('default'))?.id ?? '';
  });
  afterEach(async () => h.close());

  const dueEvents = async () =>
    h.services.store.listEvents(workspaceId, { type: 'key.rotation_due', limit: 100 });

  it('makes a key due at max age, records key.rotation_due once, and expires it at the end of the grace period', async () => {
    const ks = await createKeyspace(h, { rotation: { maxAgeSeconds: 3600, gracePeriodSeconds: 600 } });
    const key = await createKey(h, ks.id);
    const created = Date.parse(String(key.createdAt));

    h.clock.advance(HOUR - SECOND);
    await h.services.scheduler.tick();
    expect(await dueEvents()).toHaveLength(0);

    // The check runs every 30 s on the leader; a second run does not process the key again.
    h.clock.advance(31 * SECOND);
    await h.services.scheduler.tick();
    h.clock.advance(31 * SECOND);
    await h.services.scheduler.tick();
    const events = await dueEvents();
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({
      keyId: key.id,
      graceEndsAt: new Date(created + HOUR + 600 * SECOND).toISOString(),
    });
    expect((await h.call('GET', `/v1/keys/${key.id}`)).body.expiresAt).toBe(
      new Date(created + HOUR + 600 * SECOND).toISOString(),
    );
    expect((await verify(h, { key: key.key })).code).toBe('VALID');
    const due = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?due=true`);
    expect(due.body.items.map((k: { id: string }) => k.id)).toEqual([key.id]);

    h.clock.set(created + HOUR + 600 * SECOND);
    expect((await verify(h, { key: key.key })).code).toBe('EXPIRED');
    const audit = await h.call('GET', `/v1/audit?action=key.rotation_due&targetId=${key.id}`);
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        actor: 'system:scheduler',
        data: {
          dueAt: new Date(created + HOUR).toISOString(),
          graceEndsAt: new Date(created + HOUR + 600 * SECOND).toISOString(),
          maxAgeSeconds: 3600,
        },
      }),
    ]);
  });

  it('never extends an earlier expiry, and leaves keys of keyspaces without a policy alone', async () => {
    const ks = await createKeyspace(h, { rotation: { maxAgeSeconds: 3600, gracePeriodSeconds: 86_400 } });
    const plain = await createKeyspace(h);
    const soon = new Date(h.clock.now() + HOUR + 60 * SECOND).toISOString();
    const key = await createKey(h, ks.id, { expiresAt: soon });
    const untouched = await createKey(h, plain.id);
    h.clock.advance(HOUR + SECOND);
    await h.services.scheduler.tick();
    expect((await h.call('GET', `/v1/keys/${key.id}`)).body.expiresAt).toBe(soon);
    expect((await h.call('GET', `/v1/keys/${untouched.id}`)).body.expiresAt).toBeNull();
  });

  it('counts a replacement’s age from its own creation', async () => {
    const ks = await createKeyspace(h, { rotation: { maxAgeSeconds: 3600, gracePeriodSeconds: 60 } });
    const key = await createKey(h, ks.id);
    h.clock.advance(HOUR / 2);
    const rotated = await h.call('POST', `/v1/keys/${key.id}/rotate`, { gracePeriodSeconds: 30 });
    h.clock.advance(HOUR / 2 + SECOND);
    await h.services.scheduler.tick();
    expect(await dueEvents()).toHaveLength(0);
    h.clock.advance(HOUR / 2);
    await h.services.scheduler.tick();
    expect((await dueEvents()).map((e) => e.data.keyId)).toEqual([rotated.body.id]);
  });

  it('lists keys that stop within a window, and replaced keys still in use', async () => {
    const ks = await createKeyspace(h);
    const soon = await createKey(h, ks.id, {
      expiresAt: new Date(h.clock.now() + 3 * 24 * HOUR).toISOString(),
    });
    await createKey(h, ks.id, { expiresAt: new Date(h.clock.now() + 30 * 24 * HOUR).toISOString() });
    await createKey(h, ks.id);
    const within = new Date(h.clock.now() + 7 * 24 * HOUR).toISOString();
    const expiring = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?expiresBefore=${within}`);
    expect(expiring.body.items.map((k: { id: string }) => k.id)).toEqual([soon.id]);

    const old = await createKey(h, ks.id, { ownerId: 'slow-consumer' });
    await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });
    await verify(h, { key: old.key });
    await h.services.usage.flush();
    const replaced = await h.call('GET', `/v1/keyspaces/${ks.id}/keys?replaced=true`);
    expect(replaced.body.items).toEqual([
      expect.objectContaining({ id: old.id, ownerId: 'slow-consumer', lastUsedAt: expect.any(String) }),
    ]);
  });
});
