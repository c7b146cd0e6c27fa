import type { EventRecord, KeyRecord } from './records.js';
import type { PageRequest } from './store.js';

/**
 * Webhooks' part of the store: endpoints, deliveries (one per event and endpoint, with their
 * retry state and a lease for multi-node dispatch), the outbox's "dispatched to webhooks" mark,
 * and the `key.expiring` reminders already sent. Times are epoch milliseconds.
 */

export interface WebhookRecord {
  id: string;
  workspaceId: string;
  /** Any http:// or https:// URL. */
  url: string;
  /** Event types, or `*` for every type. */
  events: string[];
  /**
   * The `whsec_…` signing secret, sealed under the master key (core/webhooks/secret-box.ts):
   * Keyward must be able to read it to sign, so it is encrypted, not hashed. The plaintext is
   * shown once at creation and never stored, logged, audited, listed or put in a metric.
   */
  sealedSecret: string;
  /**
   * Set for the endpoint of one secret's `rotation.webhook`: it receives that secret's
   * `secret.rotation_due` and nothing else. Null for an endpoint registered with POST /v1/webhooks.
   */
  secretPath: string | null;
  createdAt: number;
}

/** Where a sealed signing secret lives, for re-sealing every one (master-key rotation). */
export interface SealedWebhookSecret {
  workspaceId: string;
  id: string;
  sealedSecret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveryRecord {
  /** `whd_…`: sent as `webhook-id`, the same on every attempt, so receivers can deduplicate. */
  id: string;
  workspaceId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  /** The exact body, fixed at fan-out: every attempt sends (and signs) the same bytes. */
  payload: string;
  status: DeliveryStatus;
  /** Attempts made so far (a manual redelivery adds one more). */
  attempts: number;
  /** When the next attempt is due; null once delivered or failed for good. */
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  /** The HTTP status of the last attempt; null when it got no answer (refused, timed out…). */
  lastResponseCode: number | null;
  /** Why the last attempt failed without an HTTP answer (`timeout`, `ECONNREFUSED`…). */
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** The result of one attempt, recorded by the node that holds the delivery's lease. */
export interface DeliveryAttemptResult {
  status: DeliveryStatus;
  at: number;
  responseCode: number | null;
  error: string | null;
  /** For `pending`: when to try again. */
  nextAttemptAt: number | null;
}

export interface DeliveryListFilter {
  status?: DeliveryStatus | undefined;
  page: PageRequest;
}

/** Which `key.expiring` reminder: 7 days or 1 day before `expiresAt`. */
export type ExpiryReminder = '7d' | '1d';

export interface WebhookStoreOps {
  insertWebhook(webhook: WebhookRecord): Promise<void>;
  getWebhook(workspaceId: string, id: string): Promise<WebhookRecord | undefined>;
  /** Newest first. */
  listWebhooks(workspaceId: string, page: PageRequest): Promise<WebhookRecord[]>;
  /** Every endpoint of a workspace, for fan-out (a workspace has few). */
  listWorkspaceWebhooks(workspaceId: string): Promise<WebhookRecord[]>;
  /** Removes the endpoint and its deliveries; false when it does not exist in the workspace. */
  deleteWebhook(workspaceId: string, id: string): Promise<boolean>;
  /** Every endpoint's sealed signing secret, of every workspace (there are few). */
  listSealedWebhookSecrets(): Promise<SealedWebhookSecret[]>;
  /** Replaces one endpoint's sealed signing secret (a re-seal under another master key). */
  setSealedWebhookSecret(workspaceId: string, id: string, sealedSecret: string): Promise<void>;

  /** Outbox events not yet turned into deliveries, of every workspace, oldest first. */
  listUndispatchedEvents(limit: number): Promise<EventRecord[]>;
  /**
   * Marks events as dispatched to webhooks, each only if it was not yet, and resolves to the
   * ids this call marked. Of several nodes marking the same event, exactly one gets its id back.
   */
  markEventsDispatched(eventIds: string[], at: number): Promise<string[]>;
  /** Stores a delivery unless one exists for its (event, endpoint); resolves to whether it did. */
  insertDelivery(delivery: WebhookDeliveryRecord): Promise<boolean>;

  /** Pending deliveries of every workspace due by `now` and not leased, soonest first. */
  listDueDeliveries(now: number, limit: number): Promise<WebhookDeliveryRecord[]>;
  /**
   * Leases a due delivery to `node` until `leaseUntil`, only if it is pending and nobody holds
   * an unexpired lease: one conditional UPDATE, so exactly one of several nodes gets it.
   */
  claimDelivery(id: string, node: string, now: number, leaseUntil: number): Promise<boolean>;
  /** Records an attempt and drops the lease, only while `node` still holds it. */
  finishDeliveryAttempt(id: string, node: string, result: DeliveryAttemptResult): Promise<boolean>;
  /** Drops `node`'s lease without recording an attempt (the node is shutting down). */
  releaseDelivery(id: string, node: string): Promise<void>;
  getDelivery(workspaceId: string, webhookId: string, id: string): Promise<WebhookDeliveryRecord | undefined>;
  /** Newest first. */
  listDeliveries(
    workspaceId: string,
    webhookId: string,
    filter: DeliveryListFilter,
  ): Promise<WebhookDeliveryRecord[]>;
  /** Makes a delivery pending and due at `at` (a manual redelivery); false when it does not exist. */
  scheduleRedelivery(workspaceId: string, webhookId: string, id: string, at: number): Promise<boolean>;

  /**
   * Active, unreplaced keys of every workspace expiring in (`after`, `until`] that have no
   * `reminder` recorded for their current `expiresAt`, soonest first.
   */
  listKeysExpiringBetween(
    after: number,
    until: number,
    reminder: ExpiryReminder,
    limit: number,
  ): Promise<KeyRecord[]>;
  /**
   * Retention: deletes up to `limit` rows of each kind of webhook history older than `before` —
   * finished deliveries (delivered or failed, by their last change), outbox events already
   * dispatched, and `key.expiring` reminders of expiries that passed — and resolves to how many
   * it deleted in all. Pending deliveries and undispatched events are never touched.
   */
  purgeWebhookHistory(before: number, limit: number): Promise<number>;
  /**
   * Records that `reminder` was sent for a key's `expiresAt`, unless it was already (insert
   * on conflict do nothing): the one node whose insert counted records the event.
   */
  insertExpiryReminder(
    keyId: string,
    reminder: ExpiryReminder,
    expiresAt: number,
    at: number,
  ): Promise<boolean>;
}
