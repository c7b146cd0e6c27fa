import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventRecord, KeyRecord } from './records.js';
import type { Store } from './store.js';
import { keyspaceRecord } from './testing/keyspace-record.js';
import type { WebhookDeliveryRecord, WebhookRecord } from './webhook-store.js';

const WS = 'ws_aaaaaaaaaaaa';
const OTHER = 'ws_bbbbbbbbbbbb';
const KS = 'ks_111111111111';

/**
 * Webhooks' part of the store contract, run against every store (memory, SQLite,
 * PostgreSQL). Each test gets a fresh store with two workspaces and a keyspace.
 */
export function describeWebhookStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`webhook store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
      await store.insertWorkspace({ id: OTHER, name: 'two', createdAt: 2 });
      await store.insertKeyspace(keyspaceRecord(KS, WS));
    });
    afterEach(async () => store.close());

    const webhook = (id: string, over: Partial<WebhookRecord> = {}): WebhookRecord => ({
      id,
      workspaceId: WS,
      url: `https://hooks.example.com/${id}`,
      events: ['key.revoked', 'credits.low'],
      sealedSecret: `sealed-${id}`,
      secretPath: null,
      createdAt: 100,
      ...over,
    });
    const event = (id: string, createdAt: number, workspaceId = WS): EventRecord => ({
      id,
      workspaceId,
      type: 'key.revoked',
      data: { keyId: 'key_1', nested: { a: [1] } },
      createdAt,
    });
    const delivery = (id: string, over: Partial<WebhookDeliveryRecord> = {}): WebhookDeliveryRecord => ({
      id,
      workspaceId: WS,
      webhookId: 'wh_1',
      eventId: `evt_${id}`,
      eventType: 'key.revoked',
      payload: '{"type":"key.revoked"}',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: 1_000,
      lastAttemptAt: null,
      lastResponseCode: null,
      lastError: null,
      deliveredAt: null,
      createdAt: 500,
      updatedAt: 500,
      ...over,
    });
    const key = (id: string, expiresAt: number | null, over: Partial<KeyRecord> = {}): KeyRecord => ({
      id,
      workspaceId: WS,
      keyspaceId: KS,
      hash: `hash-${id}`,
      start: 'kw_abcd',
      name: null,
      ownerId: null,
      meta: {},
      scopes: [],
      status: 'active',
      expiresAt,
      createdAt: 10,
      updatedAt: 10,
      lastUsedAt: null,
      ratelimits: [],
      restrictions: { ips: [], origins: [] },
      replaces: null,
      replacedBy: null,
      lineageId: id,
      revokedAt: null,
      revokeReason: null,
      ...over,
    });

    it('round-trips a webhook, scoped to its workspace', async () => {
      await store.insertWebhook(webhook('wh_1'));

      expect(await store.getWebhook(WS, 'wh_1')).toEqual(webhook('wh_1'));
      expect(await store.getWebhook(OTHER, 'wh_1')).toBeUndefined();
      expect(await store.getWebhook(WS, 'wh_2')).toBeUndefined();
    });

    it("round-trips a secret's rotation endpoint with its path", async () => {
      await store.insertWebhook(
        webhook('wh_r', { events: ['secret.rotation_due'], secretPath: 'payments/stripe' }),
      );

      expect(await store.getWebhook(WS, 'wh_r')).toEqual(
        webhook('wh_r', { events: ['secret.rotation_due'], secretPath: 'payments/stripe' }),
      );
    });

    it('lists every sealed signing secret and replaces one, only in its own workspace', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertWebhook(webhook('wh_2', { workspaceId: OTHER }));

      const all = await store.listSealedWebhookSecrets();
      expect(all.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([
        { workspaceId: WS, id: 'wh_1', sealedSecret: 'sealed-wh_1' },
        { workspaceId: OTHER, id: 'wh_2', sealedSecret: 'sealed-wh_2' },
      ]);
      await store.setSealedWebhookSecret(OTHER, 'wh_1', 'not-here');
      await store.setSealedWebhookSecret(WS, 'wh_1', 'resealed');
      expect((await store.getWebhook(WS, 'wh_1'))?.sealedSecret).toBe('resealed');
      expect((await store.getWebhook(OTHER, 'wh_2'))?.sealedSecret).toBe('sealed-wh_2');
    });

    it('lists webhooks newest first after a position, and all of a workspace oldest first', async () => {
      for (const [id, at] of [
        ['wh_a', 10],
        ['wh_b', 20],
        ['wh_c', 20],
        ['wh_d', 30],
      ] as const)
        await store.insertWebhook(webhook(id, { createdAt: at }));
      await store.insertWebhook(webhook('wh_x', { workspaceId: OTHER }));
      const ids = async (after?: { createdAt: number; id: string }) =>
        (await store.listWebhooks(WS, { limit: 10, after })).map((w) => w.id);

      expect(await ids()).toEqual(['wh_d', 'wh_c', 'wh_b', 'wh_a']);
      expect(await ids({ createdAt: 20, id: 'wh_c' })).toEqual(['wh_b', 'wh_a']);
      expect((await store.listWebhooks(WS, { limit: 1 })).map((w) => w.id)).toEqual(['wh_d']);
      expect((await store.listWorkspaceWebhooks(WS)).map((w) => w.id)).toEqual([
        'wh_a',
        'wh_b',
        'wh_c',
        'wh_d',
      ]);
    });

    it('deletes a webhook with its deliveries, only in its own workspace', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));

      expect(await store.deleteWebhook(OTHER, 'wh_1')).toBe(false);
      expect(await store.deleteWebhook(WS, 'wh_1')).toBe(true);
      expect(await store.getWebhook(WS, 'wh_1')).toBeUndefined();
      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toBeUndefined();
      expect(await store.listDueDeliveries(10_000, 10)).toEqual([]);
      expect(await store.deleteWebhook(WS, 'wh_1')).toBe(false);
    });

    it('purges finished deliveries, dispatched events and passed reminders older than the cutoff, in chunks', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('old_ok', { status: 'delivered', updatedAt: 100 }));
      await store.insertDelivery(delivery('old_failed', { status: 'failed', updatedAt: 200 }));
      await store.insertDelivery(delivery('old_pending', { status: 'pending', updatedAt: 100 }));
      await store.insertDelivery(delivery('new_ok', { status: 'delivered', updatedAt: 5_000 }));
      for (const [id, at] of [
        ['evt_old_sent', 100],
        ['evt_old_waiting', 150],
        ['evt_new_sent', 5_000],
      ] as const)
        await store.recordEvent(event(id, at));
      await store.markEventsDispatched(['evt_old_sent', 'evt_new_sent'], 6_000);
      await store.insertExpiryReminder('key_a', '7d', 900, 10);
      await store.insertExpiryReminder('key_a', '1d', 900, 10);
      await store.insertExpiryReminder('key_b', '7d', 9_000, 10);

      // A limit of 1 deletes at most one row of each kind per call.
      expect(await store.purgeWebhookHistory(1_000, 1)).toBe(3);
      expect(await store.purgeWebhookHistory(1_000, 10)).toBe(2);
      expect(await store.purgeWebhookHistory(1_000, 10)).toBe(0);

      const left = await store.listDeliveries(WS, 'wh_1', { page: { limit: 10 } });
      expect(left.map((d) => d.id).sort()).toEqual(['new_ok', 'old_pending']);
      expect((await store.listEvents(WS, { limit: 10 })).map((e) => e.id).sort()).toEqual([
        'evt_new_sent',
        'evt_old_waiting',
      ]);
      expect((await store.listUndispatchedEvents(10)).map((e) => e.id)).toEqual(['evt_old_waiting']);
      // The passed reminders are gone (inserting them again succeeds); the future one stays.
      expect(await store.insertExpiryReminder('key_a', '7d', 900, 10)).toBe(true);
      expect(await store.insertExpiryReminder('key_b', '7d', 9_000, 10)).toBe(false);
    });

    it('lists undispatched events of every workspace oldest first, and marks each once', async () => {
      await store.recordEvent(event('evt_2', 20));
      await store.recordEvent(event('evt_1', 10, OTHER));
      await store.recordEvent(event('evt_3', 30));

      expect((await store.listUndispatchedEvents(10)).map((e) => e.id)).toEqual(['evt_1', 'evt_2', 'evt_3']);
      expect(await store.listUndispatchedEvents(1)).toEqual([event('evt_1', 10, OTHER)]);
      expect((await store.markEventsDispatched(['evt_1', 'evt_2'], 40)).sort()).toEqual(['evt_1', 'evt_2']);
      expect(await store.markEventsDispatched(['evt_1', 'evt_2', 'evt_3', 'evt_404'], 41)).toEqual(['evt_3']);
      expect(await store.markEventsDispatched([], 42)).toEqual([]);
      expect(await store.listUndispatchedEvents(10)).toEqual([]);
    });

    it('marks an event for exactly one of many concurrent callers', async () => {
      await store.recordEvent(event('evt_1', 10));

      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.transaction((tx) => tx.markEventsDispatched(['evt_1'], 50))),
      );

      expect(results.flat()).toEqual(['evt_1']);
    });

    it('rolls a dispatch mark back with its transaction', async () => {
      await store.recordEvent(event('evt_1', 10));

      await expect(
        store.transaction(async (tx) => {
          await tx.markEventsDispatched(['evt_1'], 50);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');

      expect((await store.listUndispatchedEvents(10)).map((e) => e.id)).toEqual(['evt_1']);
    });

    it('stores one delivery per (event, endpoint) and round-trips it', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertWebhook(webhook('wh_2'));

      expect(await store.insertDelivery(delivery('whd_1'))).toBe(true);
      expect(await store.insertDelivery(delivery('whd_2', { eventId: 'evt_whd_1' }))).toBe(false);
      expect(await store.insertDelivery(delivery('whd_3', { eventId: 'evt_whd_1', webhookId: 'wh_2' }))).toBe(
        true,
      );
      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toEqual(delivery('whd_1'));
      expect(await store.getDelivery(WS, 'wh_2', 'whd_1')).toBeUndefined();
      expect(await store.getDelivery(OTHER, 'wh_1', 'whd_1')).toBeUndefined();
      expect(await store.getDelivery(WS, 'wh_1', 'whd_2')).toBeUndefined();
    });

    it('lists due deliveries soonest first, not those leased, delivered or not yet due', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_late', { nextAttemptAt: 3_000 }));
      await store.insertDelivery(delivery('whd_b', { nextAttemptAt: 2_000 }));
      await store.insertDelivery(delivery('whd_a', { nextAttemptAt: 1_000 }));
      await store.insertDelivery(delivery('whd_done', { status: 'delivered', nextAttemptAt: null }));
      await store.insertDelivery(delivery('whd_leased', { nextAttemptAt: 500 }));
      await store.claimDelivery('whd_leased', 'node-1', 2_000, 32_000);

      expect((await store.listDueDeliveries(2_000, 10)).map((d) => d.id)).toEqual(['whd_a', 'whd_b']);
      expect((await store.listDueDeliveries(2_000, 1)).map((d) => d.id)).toEqual(['whd_a']);
      expect((await store.listDueDeliveries(40_000, 10)).map((d) => d.id)).toEqual([
        'whd_leased',
        'whd_a',
        'whd_b',
        'whd_late',
      ]);
    });

    it('leases a delivery to one node until the lease expires', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));

      expect(await store.claimDelivery('whd_1', 'node-1', 1_000, 31_000)).toBe(true);
      expect(await store.claimDelivery('whd_1', 'node-2', 20_000, 50_000)).toBe(false);
      expect(await store.claimDelivery('whd_1', 'node-2', 31_001, 61_001)).toBe(true);
      // node-1's lease is gone: its late result is not recorded over node-2's claim.
      expect(
        await store.finishDeliveryAttempt('whd_1', 'node-1', {
          status: 'delivered',
          at: 31_002,
          responseCode: 200,
          error: null,
          nextAttemptAt: null,
        }),
      ).toBe(false);
      expect(await store.claimDelivery('whd_404', 'node-2', 1_000, 31_000)).toBe(false);
    });

    it('gives a delivery to exactly one of many concurrent claimers', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));

      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.claimDelivery('whd_1', `node-${i}`, 1_000, 31_000)),
      );

      expect(claims.filter(Boolean)).toHaveLength(1);
    });

    it('records an attempt, counts it, and drops the lease', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));
      await store.claimDelivery('whd_1', 'node-1', 1_000, 31_000);

      expect(
        await store.finishDeliveryAttempt('whd_1', 'node-1', {
          status: 'pending',
          at: 1_100,
          responseCode: 500,
          error: null,
          nextAttemptAt: 6_100,
        }),
      ).toBe(true);
      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toEqual(
        delivery('whd_1', {
          attempts: 1,
          nextAttemptAt: 6_100,
          lastAttemptAt: 1_100,
          lastResponseCode: 500,
          updatedAt: 1_100,
        }),
      );
      // The lease is gone: due again at 6 100, and claimable at once.
      expect((await store.listDueDeliveries(6_100, 10)).map((d) => d.id)).toEqual(['whd_1']);
      expect(await store.claimDelivery('whd_1', 'node-2', 6_100, 36_100)).toBe(true);
      await store.finishDeliveryAttempt('whd_1', 'node-2', {
        status: 'failed',
        at: 6_200,
        responseCode: null,
        error: 'ECONNREFUSED',
        nextAttemptAt: null,
      });
      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toMatchObject({
        status: 'failed',
        attempts: 2,
        nextAttemptAt: null,
        lastResponseCode: null,
        lastError: 'ECONNREFUSED',
        deliveredAt: null,
      });
      expect(await store.claimDelivery('whd_1', 'node-3', 99_000, 129_000)).toBe(false);
    });

    it('records a delivered attempt with its time', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));
      await store.claimDelivery('whd_1', 'node-1', 1_000, 31_000);
      await store.finishDeliveryAttempt('whd_1', 'node-1', {
        status: 'delivered',
        at: 1_200,
        responseCode: 204,
        error: null,
        nextAttemptAt: 9_999,
      });

      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toMatchObject({
        status: 'delivered',
        attempts: 1,
        nextAttemptAt: null,
        lastResponseCode: 204,
        deliveredAt: 1_200,
      });
      expect(await store.listDueDeliveries(99_000, 10)).toEqual([]);
    });

    it('releases a lease without counting an attempt, only for its holder', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1'));
      await store.claimDelivery('whd_1', 'node-1', 1_000, 31_000);

      await store.releaseDelivery('whd_1', 'node-2');
      expect(await store.claimDelivery('whd_1', 'node-2', 1_001, 31_001)).toBe(false);
      await store.releaseDelivery('whd_1', 'node-1');
      expect(await store.claimDelivery('whd_1', 'node-2', 1_002, 31_002)).toBe(true);
      expect((await store.getDelivery(WS, 'wh_1', 'whd_1'))?.attempts).toBe(0);
    });

    it('lists deliveries newest first, by status, after a position', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertWebhook(webhook('wh_2'));
      await store.insertDelivery(delivery('whd_a', { createdAt: 10 }));
      await store.insertDelivery(
        delivery('whd_b', { createdAt: 20, status: 'delivered', nextAttemptAt: null }),
      );
      await store.insertDelivery(delivery('whd_c', { createdAt: 20 }));
      await store.insertDelivery(delivery('whd_d', { createdAt: 30, status: 'failed', nextAttemptAt: null }));
      await store.insertDelivery(delivery('whd_e', { createdAt: 40, webhookId: 'wh_2' }));
      const ids = async (
        status?: WebhookDeliveryRecord['status'],
        after?: { createdAt: number; id: string },
      ) => (await store.listDeliveries(WS, 'wh_1', { status, page: { limit: 10, after } })).map((d) => d.id);

      expect(await ids()).toEqual(['whd_d', 'whd_c', 'whd_b', 'whd_a']);
      expect(await ids('pending')).toEqual(['whd_c', 'whd_a']);
      expect(await ids(undefined, { createdAt: 20, id: 'whd_c' })).toEqual(['whd_b', 'whd_a']);
      expect(await store.listDeliveries(OTHER, 'wh_1', { page: { limit: 10 } })).toEqual([]);
    });

    it('schedules a redelivery of any delivery of the workspace and endpoint', async () => {
      await store.insertWebhook(webhook('wh_1'));
      await store.insertDelivery(delivery('whd_1', { status: 'failed', attempts: 8, nextAttemptAt: null }));

      expect(await store.scheduleRedelivery(OTHER, 'wh_1', 'whd_1', 5_000)).toBe(false);
      expect(await store.scheduleRedelivery(WS, 'wh_2', 'whd_1', 5_000)).toBe(false);
      expect(await store.scheduleRedelivery(WS, 'wh_1', 'whd_1', 5_000)).toBe(true);
      expect(await store.getDelivery(WS, 'wh_1', 'whd_1')).toMatchObject({
        status: 'pending',
        attempts: 8,
        nextAttemptAt: 5_000,
        updatedAt: 5_000,
      });
      expect((await store.listDueDeliveries(5_000, 10)).map((d) => d.id)).toEqual(['whd_1']);
    });

    it('lists active, unreplaced keys expiring in a window that have no reminder for that expiry', async () => {
      await store.insertKey(key('key_soon', 2_000), null);
      await store.insertKey(key('key_later', 5_000), null);
      await store.insertKey(key('key_outside', 9_000), null);
      await store.insertKey(key('key_past', 1_000), null);
      await store.insertKey(key('key_never', null), null);
      await store.insertKey(key('key_revoked', 2_000, { status: 'revoked' }), null);
      await store.insertKey(key('key_replaced', 2_000, { replacedBy: 'key_soon' }), null);
      const ids = async (reminder: '7d' | '1d') =>
        (await store.listKeysExpiringBetween(1_000, 5_000, reminder, 10)).map((k) => k.id);

      expect(await ids('7d')).toEqual(['key_soon', 'key_later']);
      expect(await store.insertExpiryReminder('key_soon', '7d', 2_000, 1_000)).toBe(true);
      expect(await store.insertExpiryReminder('key_soon', '7d', 2_000, 1_001)).toBe(false);
      expect(await ids('7d')).toEqual(['key_later']);
      expect(await ids('1d')).toEqual(['key_soon', 'key_later']);
      // A moved expiry is a new date to remind of.
      await store.updateKey(WS, 'key_soon', { expiresAt: 3_000, updatedAt: 2 });
      expect(await ids('7d')).toEqual(['key_soon', 'key_later']);
      expect((await store.listKeysExpiringBetween(1_000, 5_000, '7d', 1)).map((k) => k.id)).toEqual([
        'key_soon',
      ]);
    });

    it('records a reminder for exactly one of many concurrent callers', async () => {
      await store.insertKey(key('key_1', 2_000), null);

      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.insertExpiryReminder('key_1', '1d', 2_000, 1_000)),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
