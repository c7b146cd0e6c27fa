import type { EventRecord, KeyRecord } from './records.js';
import type { PageRequest } from './store.js';
import { UniqueViolation } from './store.js';
import type {
  DeliveryListFilter,
  WebhookDeliveryRecord,
  WebhookRecord,
  WebhookStoreOps,
} from './webhook-store.js';

/** Webhooks' rows in the memory store; part of its state, so transactions roll them back too. */
export interface WebhookState {
  webhooks: Map<string, WebhookRecord>;
  deliveries: Map<string, WebhookDeliveryRecord>;
  /** Event id → when it was dispatched to webhooks. */
  dispatched: Map<string, number>;
  /** Delivery id → the node holding its lease, and until when. */
  leases: Map<string, { node: string; until: number }>;
  /** `keyId\0reminder\0expiresAt` of the `key.expiring` reminders already recorded. */
  reminders: Set<string>;
}

export const emptyWebhookState = (): WebhookState => ({
  webhooks: new Map(),
  deliveries: new Map(),
  dispatched: new Map(),
  leases: new Map(),
  reminders: new Set(),
});

/** What the webhook operations read of the rest of the memory store's state. */
export interface WebhookStateView {
  webhooks: WebhookState;
  /** The outbox; retention deletes dispatched events from it. */
  events: EventRecord[];
  keys: ReadonlyMap<string, KeyRecord>;
}

const clone = <T>(v: T): T => structuredClone(v);
const reminderKey = (keyId: string, reminder: string, expiresAt: number) =>
  `${keyId}\0${reminder}\0${expiresAt}`;

function newestFirst<T extends { createdAt: number; id: string }>(rows: T[], page: PageRequest): T[] {
  const after = page.after;
  return rows
    .filter(
      (r) =>
        after === undefined ||
        r.createdAt < after.createdAt ||
        (r.createdAt === after.createdAt && r.id < after.id),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, page.limit)
    .map(clone);
}

/** The memory implementation of webhooks' store operations, over `view()` (read at each call). */
export function memoryWebhookOps(view: () => WebhookStateView): WebhookStoreOps {
  const state = () => view().webhooks;
  const leases = {
    get: (id: string) => state().leases.get(id),
    set: (id: string, lease: { node: string; until: number }) => state().leases.set(id, lease),
    delete: (id: string) => state().leases.delete(id),
  };
  return {
    async insertWebhook(w) {
      if (state().webhooks.has(w.id)) throw new UniqueViolation('webhook id');
      state().webhooks.set(w.id, clone(w));
    },
    async getWebhook(ws, id) {
      const w = state().webhooks.get(id);
      return w && w.workspaceId === ws ? clone(w) : undefined;
    },
    async listWebhooks(ws, page) {
      return newestFirst(
        [...state().webhooks.values()].filter((w) => w.workspaceId === ws),
        page,
      );
    },
    async listWorkspaceWebhooks(ws) {
      return [...state().webhooks.values()]
        .filter((w) => w.workspaceId === ws)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
        .map(clone);
    },
    async deleteWebhook(ws, id) {
      const s = state();
      const w = s.webhooks.get(id);
      if (!w || w.workspaceId !== ws) return false;
      for (const d of [...s.deliveries.values()])
        if (d.webhookId === id) {
          s.deliveries.delete(d.id);
          s.leases.delete(d.id);
        }
      s.webhooks.delete(id);
      return true;
    },
    async listSealedWebhookSecrets() {
      return [...state().webhooks.values()].map((w) => ({
        workspaceId: w.workspaceId,
        id: w.id,
        sealedSecret: w.sealedSecret,
      }));
    },
    async setSealedWebhookSecret(ws, id, sealedSecret) {
      const w = state().webhooks.get(id);
      if (w && w.workspaceId === ws) w.sealedSecret = sealedSecret;
    },

    async listUndispatchedEvents(limit) {
      const dispatched = state().dispatched;
      return view()
        .events.filter((e) => !dispatched.has(e.id))
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map(clone);
    },
    async markEventsDispatched(ids, at) {
      const known = new Set(view().events.map((e) => e.id));
      const dispatched = state().dispatched;
      const marked: string[] = [];
      for (const id of new Set(ids)) {
        if (!known.has(id) || dispatched.has(id)) continue;
        dispatched.set(id, at);
        marked.push(id);
      }
      return marked;
    },
    async insertDelivery(d) {
      const s = state();
      for (const o of s.deliveries.values())
        if (o.eventId === d.eventId && o.webhookId === d.webhookId) return false;
      if (s.deliveries.has(d.id)) throw new UniqueViolation('delivery id');
      s.deliveries.set(d.id, clone(d));
      return true;
    },

    async listDueDeliveries(now, limit) {
      return [...state().deliveries.values()]
        .filter((d) => d.status === 'pending' && d.nextAttemptAt !== null && d.nextAttemptAt <= now)
        .filter((d) => {
          const lease = leases.get(d.id);
          return lease === undefined || lease.until < now;
        })
        .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map(clone);
    },
    async claimDelivery(id, node, now, leaseUntil) {
      const d = state().deliveries.get(id);
      if (d?.status !== 'pending') return false;
      const lease = leases.get(id);
      if (lease !== undefined && lease.until >= now) return false;
      leases.set(id, { node, until: leaseUntil });
      return true;
    },
    async finishDeliveryAttempt(id, node, r) {
      const d = state().deliveries.get(id);
      if (!d || leases.get(id)?.node !== node) return false;
      leases.delete(id);
      Object.assign(d, {
        status: r.status,
        attempts: d.attempts + 1,
        nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt : null,
        lastAttemptAt: r.at,
        lastResponseCode: r.responseCode,
        lastError: r.error,
        deliveredAt: r.status === 'delivered' ? r.at : d.deliveredAt,
        updatedAt: r.at,
      });
      return true;
    },
    async releaseDelivery(id, node) {
      if (leases.get(id)?.node === node) leases.delete(id);
    },
    async getDelivery(ws, webhookId, id) {
      const d = state().deliveries.get(id);
      return d && d.workspaceId === ws && d.webhookId === webhookId ? clone(d) : undefined;
    },
    async listDeliveries(ws, webhookId, f: DeliveryListFilter) {
      return newestFirst(
        [...state().deliveries.values()].filter(
          (d) =>
            d.workspaceId === ws &&
            d.webhookId === webhookId &&
            (f.status === undefined || d.status === f.status),
        ),
        f.page,
      );
    },
    async scheduleRedelivery(ws, webhookId, id, at) {
      const d = state().deliveries.get(id);
      if (!d || d.workspaceId !== ws || d.webhookId !== webhookId) return false;
      Object.assign(d, { status: 'pending', nextAttemptAt: at, updatedAt: at });
      return true;
    },

    async listKeysExpiringBetween(after, until, reminder, limit) {
      const sent = state().reminders;
      return [...view().keys.values()]
        .filter(
          (k) =>
            k.status === 'active' &&
            k.replacedBy === null &&
            k.expiresAt !== null &&
            k.expiresAt > after &&
            k.expiresAt <= until &&
            !sent.has(reminderKey(k.id, reminder, k.expiresAt)),
        )
        .sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0) || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map(clone);
    },
    async purgeWebhookHistory(before, limit) {
      const s = state();
      let deleted = 0;
      let n = 0;
      for (const d of [...s.deliveries.values()]) {
        if (n >= limit) break;
        if (d.status === 'pending' || d.updatedAt >= before) continue;
        s.deliveries.delete(d.id);
        s.leases.delete(d.id);
        n++;
      }
      deleted += n;
      const events = view().events;
      n = 0;
      for (let i = 0; i < events.length && n < limit; ) {
        const e = events[i];
        if (e && e.createdAt < before && s.dispatched.has(e.id)) {
          events.splice(i, 1);
          s.dispatched.delete(e.id);
          n++;
        } else i++;
      }
      deleted += n;
      n = 0;
      for (const r of [...s.reminders]) {
        if (n >= limit) break;
        if (Number(r.slice(r.lastIndexOf('\0') + 1)) >= before) continue;
        s.reminders.delete(r);
        n++;
      }
      return deleted + n;
    },
    async insertExpiryReminder(keyId, reminder, expiresAt) {
      const k = reminderKey(keyId, reminder, expiresAt);
      const sent = state().reminders;
      if (sent.has(k)) return false;
      sent.add(k);
      return true;
    },
  };
}
