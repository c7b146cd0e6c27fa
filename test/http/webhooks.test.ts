import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock/index.js';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/server/config.js';
import { buildServices, type Services } from '../../src/server/services.js';
import { type Harness, harness } from '../support/harness.js';
import { type ReceivedWebhook, TestReceiver } from '../support/webhook-receiver.js';
import { allAuditEntries, createKey, createKeyspace, expectProblem, HOUR } from './fixtures.js';

/** The signature the standardwebhooks package computes for what was received. */
function expectedSignature(secret: string, r: ReceivedWebhook): string {
  const id = String(r.headers['webhook-id']);
  const at = new Date(Number(r.headers['webhook-timestamp']) * 1000);
  return new Webhook(secret).sign(id, at, r.body);
}

describe('webhooks API', () => {
  let h: Harness;
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await TestReceiver.start();
  });
  afterAll(async () => receiver.close());
  beforeEach(async () => {
    h = await harness();
    receiver.received.length = 0;
  });
  afterEach(async () => h.close());

  const register = async (events: string[] = ['*'], url = receiver.url) => {
    const res = await h.call('POST', '/v1/webhooks', { url, events });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; url: string; events: string[] };
  };
  const dispatch = () => h.services.webhookDispatcher.tick();

  describe('POST /v1/webhooks', () => {
    it('answers 201 with the endpoint and its whsec_ secret, shown this once', async () => {
      const res = await h.call('POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['key.revoked', 'credits.low'],
      });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^wh_[0-9A-Za-z]{20}$/),
        url: receiver.url,
        events: ['key.revoked', 'credits.low'],
        secretPath: null,
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        createdAt: '2026-01-15T12:00:00.000Z',
      });
      const listed = await h.call('GET', '/v1/webhooks');
      const got = await h.call('GET', `/v1/webhooks/${res.body.id}`);
      expect(JSON.stringify([listed.body, got.body])).not.toContain(res.body.secret);
      expect(got.body).toEqual({
        id: res.body.id,
        url: receiver.url,
        events: ['key.revoked', 'credits.low'],
        secretPath: null,
        createdAt: '2026-01-15T12:00:00.000Z',
      });
    });

    it('accepts loopback, private and https URLs and every contract event type', async () => {
      const types = [
        'key.created',
        'key.updated',
        'key.revoked',
        'key.deleted',
        'key.rotated',
        'key.rotation_due',
        'key.expiring',
        'key.leaked',
        'credits.low',
        'alert.fired',
        'secret.rotation_due',
      ];
      for (const url of ['http://localhost:9/x', 'http://10.0.0.5/hook', 'https://hooks.example.com/a?b=c'])
        expect((await h.call('POST', '/v1/webhooks', { url, events: types })).status).toBe(201);
    });

    it.each([
      ['an unknown event type', { url: 'https://a.example/', events: ['key.exploded'] }],
      ['no event types', { url: 'https://a.example/', events: [] }],
      ['no url', { events: ['*'] }],
      ['a URL that is not http(s)', { url: 'ftp://a.example/', events: ['*'] }],
      ['a relative URL', { url: '/hook', events: ['*'] }],
      ['an unknown field', { url: 'https://a.example/', events: ['*'], secret: 'whsec_mine' }],
    ])('answers 400 for %s', async (_, body) => {
      expectProblem(await h.call('POST', '/v1/webhooks', body), 400, 'VALIDATION_FAILED');
    });

    it('records webhook.created and webhook.deleted in the audit log, without the secret', async () => {
      const created = await register(['key.revoked'], 'https://user:hunter2@hooks.example.com/x');
      await h.call('DELETE', `/v1/webhooks/${created.id}`);

      const entries = (await allAuditEntries(h)).filter((e) => e.targetType === 'webhook');
      expect(entries.map((e) => [e.action, e.targetId])).toEqual([
        ['webhook.created', created.id],
        ['webhook.deleted', created.id],
      ]);
      expect(entries[0]?.data).toEqual({
        url: 'https://user:***@hooks.example.com/x',
        events: ['key.revoked'],
      });
      const text = JSON.stringify(await allAuditEntries(h));
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain(created.secret.slice(6));
      expect(text).not.toContain('hunter2');
    });
  });

  describe('GET /v1/webhooks', () => {
    it('lists endpoints newest first, with cursor pages and no secrets', async () => {
      const made = [];
      for (let i = 0; i < 3; i++) {
        made.push(await register(['*'], `https://h${i}.example/`));
        h.clock.advance(1000);
      }

      const first = await h.call('GET', '/v1/webhooks?limit=2');
      const second = await h.call('GET', `/v1/webhooks?limit=2&cursor=${first.body.nextCursor}`);

      expect(first.body.items.map((w: { id: string }) => w.id)).toEqual([made[2]?.id, made[1]?.id]);
      expect(second.body).toEqual({
        items: [expect.objectContaining({ id: made[0]?.id })],
        nextCursor: null,
      });
      expect(first.body.items[0]).not.toHaveProperty('secret');
    });

    it('answers 400 for a limit above 100', async () => {
      expectProblem(await h.call('GET', '/v1/webhooks?limit=101'), 400, 'VALIDATION_FAILED');
    });
  });

  describe('DELETE /v1/webhooks/{id}', () => {
    it('answers 204, then 404; nothing more is sent to the endpoint', async () => {
      const created = await register();
      const ks = await createKeyspace(h);
      receiver.answer(500);
      await createKey(h, ks.id);
      await dispatch();

      expect((await h.call('DELETE', `/v1/webhooks/${created.id}`)).status).toBe(204);
      h.clock.advance(HOUR);
      await dispatch();

      expectProblem(await h.call('GET', `/v1/webhooks/${created.id}`), 404, 'NOT_FOUND');
      expectProblem(await h.call('DELETE', `/v1/webhooks/${created.id}`), 404, 'NOT_FOUND');
      expectProblem(await h.call('GET', `/v1/webhooks/${created.id}/deliveries`), 404, 'NOT_FOUND');
      expect(receiver.received).toHaveLength(1);
    });
  });

  describe('deliveries of key events', () => {
    it('sends key.created, key.updated, key.rotated, key.revoked and key.deleted, signed, without key material', async () => {
      const created = await register([
        'key.created',
        'key.updated',
        'key.revoked',
        'key.deleted',
        'key.rotated',
      ]);
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id, {
        ownerId: 'user_7',
        name: 'billing',
        expiresAt: '2026-03-01T00:00:00Z',
      });
      await h.call('PATCH', `/v1/keys/${key.id}`, { status: 'disabled', name: 'renamed' });
      await h.call('PATCH', `/v1/keys/${key.id}`, { status: 'active' });
      const rotated = await h.call('POST', `/v1/keys/${key.id}/rotate`, {
        gracePeriodSeconds: 60,
        reason: 'yearly',
      });
      await h.call('POST', `/v1/keys/${rotated.body.id}/revoke`, { reason: 'leaked in a log' });
      await h.call('DELETE', `/v1/keys/${key.id}`);

      await dispatch();

      expect(
        receiver
          .bodies()
          .map((b) => b.type)
          .sort(),
      ).toEqual(
        ['key.created', 'key.deleted', 'key.revoked', 'key.rotated', 'key.updated', 'key.updated'].sort(),
      );
      const of = (type: string) => receiver.bodies().find((b) => b.type === type);
      expect(of('key.created')).toEqual({
        type: 'key.created',
        timestamp: '2026-01-15T12:00:00.000Z',
        data: {
          keyId: key.id,
          keyspaceId: ks.id,
          start: key.start,
          ownerId: 'user_7',
          name: 'billing',
          scopes: [],
          expiresAt: '2026-03-01T00:00:00.000Z',
        },
      });
      expect(of('key.rotated')?.data).toMatchObject({
        keyId: key.id,
        newKeyId: rotated.body.id,
        newKeyStart: rotated.body.start,
        gracePeriodSeconds: 60,
        oldKeyExpiresAt: '2026-01-15T12:01:00.000Z',
        reason: 'yearly',
      });
      expect(of('key.revoked')?.data).toMatchObject({ keyId: rotated.body.id, reason: 'leaked in a log' });
      expect(of('key.deleted')?.data).toEqual({
        keyId: key.id,
        keyspaceId: ks.id,
        start: key.start,
        ownerId: 'user_7',
      });
      // Deliveries go out concurrently: find the disabling update by its content, not its position.
      expect(
        receiver.bodies().find((b) => b.type === 'key.updated' && b.data.status === 'disabled')?.data,
      ).toEqual({
        keyspaceId: ks.id,
        start: key.start,
        ownerId: 'user_7',
        keyId: key.id,
        changes: ['name', 'status'],
        status: 'disabled',
      });
      expect(
        receiver.bodies().find((b) => b.type === 'key.updated' && b.data.status === 'active'),
      ).toBeDefined();
      for (const r of receiver.received) {
        expect(r.headers['webhook-signature']).toBe(expectedSignature(created.secret, r));
        expect(r.headers['webhook-timestamp']).toBe(String(Date.UTC(2026, 0, 15, 12) / 1000));
        expect(r.headers['content-type']).toBe('application/json');
      }
      const everything = JSON.stringify(receiver.received);
      for (const secretText of [key.key, rotated.body.key, created.secret])
        expect(everything).not.toContain(secretText);
    });

    it('sends only the subscribed types, and only to endpoints of the workspace', async () => {
      await register(['key.revoked']);
      const other = await h.rootKeyWith(['*'], 'elsewhere');
      const theirs = await h.call(
        'POST',
        '/v1/webhooks',
        { url: `${receiver.url}?theirs`, events: ['*'] },
        other,
      );
      expect(theirs.status).toBe(201);
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id);
      await h.call('POST', `/v1/keys/${key.id}/revoke`, {});

      await dispatch();

      expect(receiver.bodies().map((b) => b.type)).toEqual(['key.revoked']);
      expect(receiver.received.every((r) => !String(r.headers['webhook-id']).includes('theirs'))).toBe(true);
    });
  });

  describe('GET /v1/webhooks/{id}/deliveries', () => {
    it('shows status, attempts, the last response code and the next attempt, newest first', async () => {
      const created = await register(['key.created', 'key.revoked']);
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id);
      h.clock.advance(1000);
      await dispatch();
      await h.call('POST', `/v1/keys/${key.id}/revoke`, {});
      receiver.answer(503);

      await dispatch();
      const all = await h.call('GET', `/v1/webhooks/${created.id}/deliveries`);

      expect(all.status).toBe(200);
      expect(all.body.nextCursor).toBeNull();
      const byType = new Map(all.body.items.map((d: { eventType: string }) => [d.eventType, d]));
      expect(byType.get('key.created')).toEqual({
        id: expect.stringMatching(/^whd_/),
        webhookId: created.id,
        eventId: expect.stringMatching(/^evt_/),
        eventType: 'key.created',
        status: 'delivered',
        attempts: 1,
        lastResponseCode: 204,
        lastError: null,
        nextAttemptAt: null,
        lastAttemptAt: '2026-01-15T12:00:01.000Z',
        deliveredAt: '2026-01-15T12:00:01.000Z',
        createdAt: '2026-01-15T12:00:01.000Z',
      });
      const pending = byType.get('key.revoked') as Record<string, unknown>;
      expect(pending).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastResponseCode: 503,
        deliveredAt: null,
      });
      const next = Date.parse(String(pending.nextAttemptAt)) - Date.parse('2026-01-15T12:00:01.000Z');
      expect(next).toBeGreaterThanOrEqual(4_000);
      expect(next).toBeLessThanOrEqual(6_000);
      const onlyPending = await h.call('GET', `/v1/webhooks/${created.id}/deliveries?status=pending`);
      expect(onlyPending.body.items.map((d: { eventType: string }) => d.eventType)).toEqual(['key.revoked']);
      const paged = await h.call('GET', `/v1/webhooks/${created.id}/deliveries?limit=1`);
      expect(paged.body.items).toHaveLength(1);
      expect(paged.body.nextCursor).toEqual(expect.any(String));
    });

    it('answers 400 for an unknown status', async () => {
      const created = await register();

      expectProblem(
        await h.call('GET', `/v1/webhooks/${created.id}/deliveries?status=lost`),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', () => {
    it('sends a delivered event again with the same webhook-id and answers 202', async () => {
      const created = await register(['key.created']);
      const ks = await createKeyspace(h);
      await createKey(h, ks.id);
      await dispatch();
      const [delivery] = (await h.call('GET', `/v1/webhooks/${created.id}/deliveries`)).body.items;

      const res = await h.call('POST', `/v1/webhooks/${created.id}/deliveries/${delivery.id}/redeliver`);
      await dispatch();

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        id: delivery.id,
        status: 'pending',
        nextAttemptAt: '2026-01-15T12:00:00.000Z',
      });
      expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([delivery.id, delivery.id]);
      expect(receiver.received[0]?.body).toBe(receiver.received[1]?.body);
      const after = (await h.call('GET', `/v1/webhooks/${created.id}/deliveries`)).body.items[0];
      expect(after).toMatchObject({ status: 'delivered', attempts: 2 });
      const audit = (await allAuditEntries(h)).filter((e) => e.action === 'webhook.redelivered');
      expect(audit).toEqual([
        expect.objectContaining({
          targetId: created.id,
          data: expect.objectContaining({ deliveryId: delivery.id }),
        }),
      ]);
    });

    it("answers 404 for an unknown delivery and for another endpoint's delivery", async () => {
      const a = await register(['key.created']);
      const b = await register(['key.created']);
      const ks = await createKeyspace(h);
      await createKey(h, ks.id);
      await h.services.webhookDispatcher.fanOut();
      const [ofA] = (await h.call('GET', `/v1/webhooks/${a.id}/deliveries`)).body.items;

      expectProblem(
        await h.call('POST', `/v1/webhooks/${b.id}/deliveries/${ofA.id}/redeliver`),
        404,
        'NOT_FOUND',
      );
      expectProblem(
        await h.call('POST', `/v1/webhooks/${a.id}/deliveries/whd_00000000000000000000/redeliver`),
        404,
        'NOT_FOUND',
      );
    });
  });

  describe('retention', () => {
    it('deletes finished deliveries after KEYWARD_WEBHOOK_RETENTION_DAYS (30), keeping pending ones', async () => {
      const ok = await register(['key.created']);
      const failing = await register(['key.created'], 'http://127.0.0.1:9/refused');
      await createKey(h, (await createKeyspace(h)).id);
      await dispatch();
      const deliveries = async (id: string) =>
        (await h.call('GET', `/v1/webhooks/${id}/deliveries`)).body.items as { status: string }[];
      expect((await deliveries(ok.id)).map((d) => d.status)).toEqual(['delivered']);
      expect((await deliveries(failing.id)).map((d) => d.status)).toEqual(['pending']);

      h.clock.advance(30 * 24 * HOUR - 1000);
      expect(await h.services.purgeWebhookHistory()).toBe(0);
      h.clock.advance(2000);
      expect(await h.services.purgeWebhookHistory()).toBeGreaterThanOrEqual(1);

      expect(await deliveries(ok.id)).toEqual([]);
      // Still being retried: it stays, whatever its age.
      expect((await deliveries(failing.id)).map((d) => d.status)).toEqual(['pending']);
    });

    it('reads the setting, 0 keeping everything', () => {
      expect(h.services.config.webhookRetentionDays).toBe(30);
      expect(
        loadConfig({ data: h.dataDir }, { KEYWARD_WEBHOOK_RETENTION_DAYS: '0' }).webhookRetentionDays,
      ).toBe(0);
      expect(() => loadConfig({ data: h.dataDir }, { KEYWARD_WEBHOOK_RETENTION_DAYS: '-1' })).toThrow(
        /KEYWARD_WEBHOOK_RETENTION_DAYS/,
      );
    });
  });

  describe('metrics', () => {
    it('counts attempts by outcome, with no secret, key or URL in /metrics', async () => {
      const created = await register(['key.created'], `${receiver.url}?token=s3cr3t-path`);
      const ks = await createKeyspace(h);
      const key = await createKey(h, ks.id);
      await createKey(h, ks.id);
      receiver.answer(500);

      await dispatch();
      const text = (await h.call('GET', '/metrics', undefined, null)).body as string;

      expect(text).toMatch(/^keyward_webhook_deliveries_total\{outcome="delivered"\} 1$/m);
      expect(text).toMatch(/^keyward_webhook_deliveries_total\{outcome="retried"\} 1$/m);
      for (const secretText of [created.secret, key.key, 's3cr3t-path', created.id])
        expect(text).not.toContain(secretText);
    });
  });
});

describe('webhooks with KEYWARD_WEBHOOK_DENY_PRIVATE=1', () => {
  let dataDir: string;
  let services: Services;
  let app: FastifyInstance;
  let rootKey: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
    const config = loadConfig({ data: dataDir }, { KEYWARD_WEBHOOK_DENY_PRIVATE: '1' });
    const names: Record<string, string[]> = {
      'intranet.example': ['10.1.2.3'],
      'public.example': ['93.184.216.34'],
    };
    services = await buildServices(config, {
      clock: new ManualClock(Date.UTC(2026, 0, 15, 12)),
      resolveHost: async (host) => names[host] ?? [],
    });
    rootKey = (await services.workspaces.bootstrap())?.key ?? '';
    app = await buildApp(services);
  });
  afterAll(async () => {
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const register = (url: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ url, events: ['*'] }),
    });

  it('reads the setting from the environment', () => {
    expect(services.config.webhookDenyPrivate).toBe(true);
    expect(loadConfig({ data: dataDir }, {}).webhookDenyPrivate).toBe(false);
    expect(() => loadConfig({ data: dataDir }, { KEYWARD_WEBHOOK_DENY_PRIVATE: 'maybe' })).toThrow(
      /KEYWARD_WEBHOOK_DENY_PRIVATE/,
    );
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data/',
    'https://intranet.example/hook',
  ])('answers 400 WEBHOOK_URL_NOT_ALLOWED for %s', async (url) => {
    const res = await register(url);

    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'WEBHOOK_URL_NOT_ALLOWED', errors: [{ path: '/url' }] });
  });

  it('accepts a public target', async () => {
    expect((await register('https://public.example/hook')).statusCode).toBe(201);
  });

  it("applies the same rule to a secret's rotation.webhook, pointing at that field", async () => {
    const put = (url: string) =>
      app.inject({
        method: 'PUT',
        url: '/v1/secrets/rotated/key',
        headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ value: 'v', rotation: { maxAgeSeconds: 3600, webhook: url } }),
      });

    const refused = await put('https://intranet.example/rotate');
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({
      code: 'WEBHOOK_URL_NOT_ALLOWED',
      errors: [{ path: '/rotation/webhook' }],
    });
    const accepted = await put('https://public.example/rotate');
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json().rotationWebhook).toMatchObject({ url: 'https://public.example/rotate' });
  });
});
