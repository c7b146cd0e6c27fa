import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { TestReceiver } from '../support/webhook-receiver.js';
import { allAuditEntries, HOUR } from './fixtures.js';

/** Every file under `dir`, read as bytes and decoded leniently: what a disk scan would find. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [readFileSync(p).toString('latin1')];
  });
}

/**
 * A secret's `rotation.webhook` (issue 7): its own endpoint, signed with a `whsec_` secret
 * answered once by the write that set it, delivering only that secret's `secret.rotation_due`.
 */
describe("a secret's rotation.webhook", () => {
  let h: Harness;
  let receiver: TestReceiver;
  let other: TestReceiver;
  beforeAll(async () => {
    receiver = await TestReceiver.start();
    other = await TestReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
    await other.close();
  });
  beforeEach(async () => {
    h = await harness();
    receiver.received.length = 0;
    other.received.length = 0;
  });
  afterEach(async () => h.close());

  const put = (path: string, body: Record<string, unknown>) => h.call('PUT', `/v1/secrets/${path}`, body);
  const dispatch = () => h.services.webhookDispatcher.tick();
  const rotation = (url: string) => ({ maxAgeSeconds: 3600, webhook: url });

  it('answers its endpoint and signing secret once, and delivers secret.rotation_due signed with it', async () => {
    const written = await put('quotes/key', {
      value: 'stock-quote-value-1',
      rotation: rotation(receiver.url),
    });
    expect(written.status).toBe(200);
    const created = written.body.rotationWebhook;
    expect(created).toEqual({
      id: expect.stringMatching(/^wh_[0-9A-Za-z]{20}$/),
      url: receiver.url,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const listed = await h.call('GET', '/v1/webhooks');
    expect(listed.body.items).toEqual([
      {
        id: created.id,
        url: receiver.url,
        events: ['secret.rotation_due'],
        secretPath: 'quotes/key',
        createdAt: '2026-01-15T12:00:00.000Z',
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.secret);

    h.clock.advance(HOUR);
    expect(await h.services.checkSecretRotation()).toBe(1);
    await dispatch();

    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    if (!got) throw new Error('nothing received');
    // Signed as the standardwebhooks package signs with the secret from the PUT answer (its
    // verify() would also check the timestamp against the real clock; this one is frozen).
    const at = new Date(Number(got.headers['webhook-timestamp']) * 1000);
    expect(got.headers['webhook-signature']).toBe(
      new Webhook(created.secret).sign(String(got.headers['webhook-id']), at, got.body),
    );
    expect(JSON.parse(got.body)).toEqual({
      type: 'secret.rotation_due',
      timestamp: '2026-01-15T13:00:00.000Z',
      data: {
        path: 'quotes/key',
        version: 1,
        dueAt: '2026-01-15T13:00:00.000Z',
        maxAgeSeconds: 3600,
        webhook: receiver.url,
      },
    });
    expect(got.body).not.toContain('stock-quote-value-1');
    const deliveries = await h.call('GET', `/v1/webhooks/${created.id}/deliveries`);
    expect(deliveries.body.items).toMatchObject([
      { eventType: 'secret.rotation_due', status: 'delivered', lastResponseCode: 204 },
    ]);
  });

  it("hears only its own secret's rotation_due; workspace endpoints hear it too, once each", async () => {
    const everything = await h.call('POST', '/v1/webhooks', { url: other.url, events: ['*'] });
    await put('a/one', { value: 'v1', rotation: rotation(receiver.url) });
    await put('a/two', { value: 'v2', rotation: { maxAgeSeconds: 3600 } });
    await h.call('POST', `/v1/keyspaces`, { name: 'noise' });

    h.clock.advance(HOUR);
    expect(await h.services.checkSecretRotation()).toBe(2);
    await dispatch();

    expect(receiver.bodies().map((b) => [b.type, b.data.path])).toEqual([['secret.rotation_due', 'a/one']]);
    const toWorkspace = other.bodies().filter((b) => b.type === 'secret.rotation_due');
    expect(toWorkspace.map((b) => b.data.path).sort()).toEqual(['a/one', 'a/two']);
    expect(everything.status).toBe(201);
  });

  it('keeps the endpoint for the same URL, replaces it for a new one and removes it with the policy', async () => {
    const first = (await put('r/key', { value: 'v1', rotation: rotation(receiver.url) })).body
      .rotationWebhook;
    const again = await put('r/key', { value: 'v2', rotation: rotation(receiver.url) });
    expect(again.body.rotationWebhook).toBeUndefined();
    const unchanged = await put('r/key', { value: 'v3' });
    expect(unchanged.body.rotationWebhook).toBeUndefined();
    expect((await h.call('GET', '/v1/webhooks')).body.items.map((w: { id: string }) => w.id)).toEqual([
      first.id,
    ]);

    const moved = await h.call('PATCH', '/v1/secrets/r/key', { rotation: rotation(other.url) });
    expect(moved.status).toBe(200);
    const second = moved.body.rotationWebhook;
    expect(second).toMatchObject({ url: other.url });
    expect(second.id).not.toBe(first.id);
    expect(second.secret).not.toBe(first.secret);
    expect((await h.call('GET', `/v1/webhooks/${first.id}`)).status).toBe(404);

    const cleared = await h.call('PATCH', '/v1/secrets/r/key', { rotation: null });
    expect(cleared.body.rotationWebhook).toBeUndefined();
    expect((await h.call('GET', '/v1/webhooks')).body.items).toEqual([]);

    const audit = (await allAuditEntries(h)).filter((e) => e.targetType === 'webhook');
    expect(audit.map((e) => [e.action, e.targetId])).toEqual([
      ['webhook.created', first.id],
      ['webhook.deleted', first.id],
      ['webhook.created', second.id],
      ['webhook.deleted', second.id],
    ]);
    expect(audit[0]?.data).toEqual({
      url: receiver.url,
      events: ['secret.rotation_due'],
      secretPath: 'r/key',
    });
    const text = JSON.stringify(await allAuditEntries(h));
    expect(text).not.toContain(first.secret);
    expect(text).not.toContain(second.secret);
  });

  it('is made again by the next write naming the URL after someone deleted it', async () => {
    const first = (await put('r/key', { value: 'v1', rotation: rotation(receiver.url) })).body
      .rotationWebhook;
    expect((await h.call('DELETE', `/v1/webhooks/${first.id}`)).status).toBe(204);

    const again = await put('r/key', { value: 'v2', rotation: rotation(receiver.url) });
    expect(again.body.rotationWebhook).toMatchObject({ url: receiver.url });
    expect(again.body.rotationWebhook.id).not.toBe(first.id);
  });

  it('needs secrets.write on the path: a caller that may not write it makes no endpoint', async () => {
    const reader = await h.rootKeyWith(['secrets.read:*', 'secrets.write:other/*']);
    const res = await h.call(
      'PUT',
      '/v1/secrets/r/key',
      { value: 'v', rotation: rotation(receiver.url) },
      reader,
    );
    expect(res.status).toBe(403);
    expect((await h.call('GET', '/v1/webhooks')).body.items).toEqual([]);
  });

  it('keeps every signing secret out of the data directory: they are sealed under the master key', async () => {
    const secrets = [
      (await put('s/one', { value: 'v', rotation: rotation(receiver.url) })).body.rotationWebhook.secret,
      (await h.call('POST', '/v1/webhooks', { url: other.url, events: ['*'] })).body.secret,
    ] as string[];
    const ws = await h.services.store.getWorkspaceByName('default');
    const stored = await h.services.store.listWebhooks(ws?.id ?? '', { limit: 10 });
    expect(stored).toHaveLength(2);
    for (const w of stored) expect(w.sealedSecret).not.toMatch(/^whsec_/);

    // The WAL file holds what is not checkpointed yet: the scan reads it too.
    const disk = filesUnder(h.dataDir).join('\n');
    for (const secret of secrets) {
      expect(disk).not.toContain(secret);
      expect(disk).not.toContain(secret.slice('whsec_'.length));
    }
  });
});
