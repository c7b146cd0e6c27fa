import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/index.js';
import { ManualClock } from '../clock/index.js';
import { type CallContext, PermissionSet } from '../root-keys/index.js';
import { MemoryStore } from '../store/index.js';
import { MasterKey, WebhookSecretBox } from '../vault/index.js';
import { type AttemptReport, WebhookDispatcher } from './dispatcher.js';
import { DEFAULT_RETRY_SCHEDULE_MS } from './retry-schedule.js';
import { RecordingSender, type WebhookRequest } from './sender.js';
import { Webhooks } from './webhooks.js';

const random = (n: number) => randomBytes(n);
const WS = 'ws_aaaaaaaaaaaa';
const OTHER = 'ws_bbbbbbbbbbbb';
const ctx = (workspaceId = WS): CallContext => ({
  principal: { workspaceId, rootKeyId: 'rk_test', permissions: new PermissionSet(['*']) },
  ip: '203.0.113.9',
});
const box = new WebhookSecretBox(MasterKey.generate(random), random);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe('webhook dispatcher', () => {
  let store: MemoryStore;
  let clock: ManualClock;
  let webhooks: Webhooks;
  let sender: RecordingSender;
  let reports: AttemptReport[];
  let events = 0;

  const dispatcher = (nodeId = 'node-a', s: RecordingSender = sender) =>
    new WebhookDispatcher(store, s, clock, random, box, {
      schedule: DEFAULT_RETRY_SCHEDULE_MS,
      timeoutMs: 5_000,
      pollMs: 0,
      concurrency: 4,
      nodeId,
      onAttempt: (r) => reports.push(r),
    });
  const record = async (type: string, data: Record<string, unknown> = {}, workspaceId = WS) => {
    events++;
    const id = `evt_${String(events).padStart(12, '0')}`;
    await store.recordEvent({ id, workspaceId, type, data, createdAt: clock.now() });
    return id;
  };
  const verify = (secret: string, req: WebhookRequest) =>
    new Webhook(secret).sign(
      req.headers['webhook-id'] ?? '',
      new Date(Number(req.headers['webhook-timestamp']) * 1000),
      req.body,
    );

  beforeEach(async () => {
    store = new MemoryStore();
    clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    webhooks = new Webhooks(store, new AuditLog(store, clock), clock, random, box, { denyPrivate: false });
    sender = new RecordingSender();
    reports = [];
    await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
    await store.insertWorkspace({ id: OTHER, name: 'two', createdAt: 2 });
  });

  it('sends each event once to every endpoint of its workspace that subscribed to it', async () => {
    const revoked = await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['key.revoked'] });
    const all = await webhooks.create(ctx(), { url: 'https://b.example/hook', events: ['*'] });
    await webhooks.create(ctx(), { url: 'https://c.example/hook', events: ['credits.low'] });
    await webhooks.create(ctx(OTHER), { url: 'https://d.example/hook', events: ['*'] });
    await record('key.revoked', { keyId: 'key_1' });

    await dispatcher().tick();
    await dispatcher('node-b').tick();

    expect(sender.requests.map((r) => r.url).sort()).toEqual([
      'https://a.example/hook',
      'https://b.example/hook',
    ]);
    const byUrl = new Map(sender.requests.map((r) => [r.url, r]));
    for (const [url, secret] of [
      ['https://a.example/hook', revoked.secret],
      ['https://b.example/hook', all.secret],
    ] as const) {
      const req = byUrl.get(url);
      if (!req) throw new Error(`no request to ${url}`);
      expect(req.headers['webhook-signature']).toBe(verify(secret, req));
      expect(JSON.parse(req.body)).toEqual({
        type: 'key.revoked',
        timestamp: '2026-01-15T12:00:00.000Z',
        data: { keyId: 'key_1' },
      });
      expect(req.headers['webhook-timestamp']).toBe(String(clock.now() / 1000));
      expect(req.headers['webhook-id']).toMatch(/^whd_/);
    }
    expect(reports.map((r) => r.outcome)).toEqual(['delivered', 'delivered']);
  });

  it('does not send an endpoint what happened before it was registered', async () => {
    await record('key.revoked');
    clock.advance(1);
    await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['*'] });

    await dispatcher().tick();

    expect(sender.requests).toEqual([]);
  });

  it('retries a failing endpoint on the schedule and sends the event exactly once more after two failures', async () => {
    const created = await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['credits.low'] });
    await record('credits.low', { keyId: 'key_1', remaining: 3 });
    sender.answer({ status: 500 }, { error: 'ECONNREFUSED' });
    const d = dispatcher();

    await d.tick();
    expect(sender.requests).toHaveLength(1);
    clock.advance(3 * SECOND);
    await d.tick();
    expect(sender.requests).toHaveLength(1); // 5 s ± 20 % is not due after 3 s
    clock.advance(3 * SECOND);
    await d.tick();
    expect(sender.requests).toHaveLength(2);
    clock.advance(4 * MINUTE);
    await d.tick();
    expect(sender.requests).toHaveLength(2); // 5 min ± 20 %
    clock.advance(2 * MINUTE);
    await d.tick();
    clock.advance(48 * HOUR);
    await d.tick();

    expect(sender.requests).toHaveLength(3);
    const ids = new Set(sender.requests.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(new Set(sender.requests.map((r) => r.body)).size).toBe(1);
    expect(reports.map((r) => r.outcome)).toEqual(['retried', 'retried', 'delivered']);
    const [delivery] = await store.listDeliveries(WS, created.record.id, { page: { limit: 10 } });
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 3,
      lastResponseCode: 200,
      nextAttemptAt: null,
    });
  });

  it('gives up after the last attempt of the schedule, and a redelivery makes one more', async () => {
    const failing = new RecordingSender({ status: 503 });
    const created = await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['*'] });
    await record('key.deleted');
    const d = dispatcher('node-a', failing);

    for (let i = 0; i < 20; i++) {
      await d.tick();
      clock.advance(12 * HOUR);
    }

    expect(failing.requests).toHaveLength(DEFAULT_RETRY_SCHEDULE_MS.length);
    expect(reports.at(-1)?.outcome).toBe('failed');
    const [failed] = await store.listDeliveries(WS, created.record.id, { page: { limit: 10 } });
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 8,
      lastResponseCode: 503,
      nextAttemptAt: null,
    });
    if (!failed) throw new Error('no delivery');

    await webhooks.redeliver(ctx(), created.record.id, failed.id);
    await d.tick();
    clock.advance(48 * HOUR);
    await d.tick();

    expect(failing.requests).toHaveLength(9);
    expect(failing.requests[8]?.headers['webhook-id']).toBe(failed.id);
    expect((await store.getDelivery(WS, created.record.id, failed.id))?.status).toBe('failed');
  });

  it('delivers each event once per endpoint however many dispatchers run at once', async () => {
    for (let i = 0; i < 3; i++)
      await webhooks.create(ctx(), { url: `https://h${i}.example/hook`, events: ['key.created'] });
    for (let i = 0; i < 40; i++) await record('key.created', { keyId: `key_${i}` });
    const shared = new RecordingSender();

    await Promise.all(['n1', 'n2', 'n3', 'n4'].map((n) => dispatcher(n, shared).tick()));

    const ids = shared.requests.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
  });

  it('drops the deliveries of a deleted endpoint', async () => {
    const created = await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['*'] });
    await record('key.revoked');
    sender.answer({ status: 500 });
    await dispatcher().tick();

    await webhooks.delete(ctx(), created.record.id);
    clock.advance(HOUR);
    await dispatcher().tick();

    expect(sender.requests).toHaveLength(1);
  });

  it('releases an attempt aborted by stop without counting it', async () => {
    await webhooks.create(ctx(), { url: 'https://a.example/hook', events: ['*'] });
    await record('key.revoked');
    let started: () => void = () => undefined;
    const began = new Promise<void>((r) => {
      started = r;
    });
    const hanging = {
      send: (req: WebhookRequest) =>
        new Promise<{ error: string }>((resolve) => {
          started();
          req.signal?.addEventListener('abort', () => resolve({ error: 'aborted' }));
        }),
    };
    const d = new WebhookDispatcher(store, hanging, clock, random, box, {
      schedule: DEFAULT_RETRY_SCHEDULE_MS,
      timeoutMs: 5_000,
      pollMs: 10,
      concurrency: 1,
    });

    d.start();
    await began;
    await d.stop();

    const [hook] = await store.listWebhooks(WS, { limit: 1 });
    const [delivery] = await store.listDeliveries(WS, hook?.id ?? '', { page: { limit: 1 } });
    expect(delivery).toMatchObject({ status: 'pending', attempts: 0 });
    await dispatcher('node-b').tick();
    expect(sender.requests).toHaveLength(1);
  });
});
