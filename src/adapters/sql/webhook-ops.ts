import { type Kysely, sql, type Transaction } from 'kysely';
import {
  type DeliveryAttemptResult,
  type DeliveryListFilter,
  type DeliveryStatus,
  type EventRecord,
  type ExpiryReminder,
  type KeyRecord,
  type PageRequest,
  type SealedWebhookSecret,
  UniqueViolation,
  type WebhookDeliveryRecord,
  type WebhookRecord,
} from '../../core/store/index.js';
import { toKey } from './rows.js';
import type { Database } from './schema.js';
import { isUniqueViolation as isUnique, num, numOrNull } from './sql-values.js';
import type { WebhookDeliveriesTable, WebhooksTable } from './webhook-schema.js';

/**
 * Webhooks' store operations over one Kysely handle (the database or a transaction). SqlOps
 * delegates to these; they are plain functions so webhooks' SQL lives in one place.
 */
type Db = Kysely<Database> | Transaction<Database>;

function toWebhook(r: WebhooksTable): WebhookRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    url: r.url,
    events: JSON.parse(r.events) as string[],
    sealedSecret: r.secret,
    secretPath: r.secret_path,
    createdAt: num(r.created_at),
  };
}

function toDelivery(r: WebhookDeliveriesTable): WebhookDeliveryRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    eventType: r.event_type,
    payload: r.payload,
    status: r.status as DeliveryStatus,
    attempts: num(r.attempts),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    lastResponseCode: numOrNull(r.last_response_code),
    lastError: r.last_error,
    deliveredAt: numOrNull(r.delivered_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Newest-first cursor condition: rows strictly after `after` in (created_at desc, id desc) order. */
function olderThan(after: { createdAt: number; id: string }) {
  return sql<boolean>`(created_at < ${after.createdAt} or (created_at = ${after.createdAt} and id < ${after.id}))`;
}

export async function insertWebhook(db: Db, w: WebhookRecord): Promise<void> {
  try {
    await db
      .insertInto('webhooks')
      .values({
        id: w.id,
        workspace_id: w.workspaceId,
        url: w.url,
        events: JSON.stringify(w.events),
        secret: w.sealedSecret,
        secret_path: w.secretPath,
        created_at: w.createdAt,
      })
      .execute();
  } catch (err) {
    if (isUnique(err)) throw new UniqueViolation('webhook id');
    throw err;
  }
}

export async function getWebhook(db: Db, ws: string, id: string): Promise<WebhookRecord | undefined> {
  const r = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toWebhook(r);
}

export async function listWebhooks(db: Db, ws: string, page: PageRequest): Promise<WebhookRecord[]> {
  let q = db.selectFrom('webhooks').selectAll().where('workspace_id', '=', ws);
  if (page.after) q = q.where(olderThan(page.after));
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map(toWebhook);
}

export async function listWorkspaceWebhooks(db: Db, ws: string): Promise<WebhookRecord[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('workspace_id', '=', ws)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toWebhook);
}

export async function deleteWebhook(db: Db, ws: string, id: string): Promise<boolean> {
  await db
    .deleteFrom('webhook_deliveries')
    .where('workspace_id', '=', ws)
    .where('webhook_id', '=', id)
    .execute();
  const r = await db
    .deleteFrom('webhooks')
    .where('workspace_id', '=', ws)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listSealedWebhookSecrets(db: Db): Promise<SealedWebhookSecret[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(['workspace_id', 'id', 'secret'])
    .orderBy('workspace_id')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ workspaceId: r.workspace_id, id: r.id, sealedSecret: r.secret }));
}

export async function setSealedWebhookSecret(db: Db, ws: string, id: string, sealed: string): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({ secret: sealed })
    .where('workspace_id', '=', ws)
    .where('id', '=', id)
    .execute();
}

export async function purgeWebhookHistory(db: Db, before: number, limit: number): Promise<number> {
  // Each delete picks its rows by a bounded subquery, so one call never holds a long lock.
  const deliveries = await sql`delete from webhook_deliveries where id in
    (select id from webhook_deliveries where status <> 'pending' and updated_at < ${before} limit ${limit})`.execute(
    db,
  );
  const events = await sql`delete from events where id in
    (select id from events where webhook_dispatched_at is not null and created_at < ${before} limit ${limit})`.execute(
    db,
  );
  const reminders = await sql`delete from key_expiry_reminders where (key_id, reminder, expires_at) in
    (select key_id, reminder, expires_at from key_expiry_reminders where expires_at < ${before} limit ${limit})`.execute(
    db,
  );
  return [deliveries, events, reminders].reduce((n, r) => n + num(r.numAffectedRows ?? 0n), 0);
}

export async function listUndispatchedEvents(db: Db, limit: number): Promise<EventRecord[]> {
  const rows = await db
    .selectFrom('events')
    .select(['id', 'workspace_id', 'type', 'data', 'created_at'])
    .where('webhook_dispatched_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    type: r.type,
    data: JSON.parse(r.data) as Record<string, unknown>,
    createdAt: num(r.created_at),
  }));
}

export async function markEventsDispatched(db: Db, ids: string[], at: number): Promise<string[]> {
  if (ids.length === 0) return [];
  // Conditional: of several nodes marking the same event, only the first UPDATE matches it (on
  // PostgreSQL the others wait for its row lock, then find the mark set).
  const rows = await db
    .updateTable('events')
    .set({ webhook_dispatched_at: at })
    .where('id', 'in', ids)
    .where('webhook_dispatched_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function insertDelivery(db: Db, d: WebhookDeliveryRecord): Promise<boolean> {
  const r = await db
    .insertInto('webhook_deliveries')
    .values({
      id: d.id,
      workspace_id: d.workspaceId,
      webhook_id: d.webhookId,
      event_id: d.eventId,
      event_type: d.eventType,
      payload: d.payload,
      status: d.status,
      attempts: d.attempts,
      next_attempt_at: d.nextAttemptAt,
      last_attempt_at: d.lastAttemptAt,
      last_response_code: d.lastResponseCode,
      last_error: d.lastError,
      delivered_at: d.deliveredAt,
      leased_by: null,
      leased_until: null,
      created_at: d.createdAt,
      updated_at: d.updatedAt,
    })
    .onConflict((oc) => oc.columns(['event_id', 'webhook_id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

const deliveryColumns = [
  'id',
  'workspace_id',
  'webhook_id',
  'event_id',
  'event_type',
  'payload',
  'status',
  'attempts',
  'next_attempt_at',
  'last_attempt_at',
  'last_response_code',
  'last_error',
  'delivered_at',
  'leased_by',
  'leased_until',
  'created_at',
  'updated_at',
] as const;

export async function listDueDeliveries(
  db: Db,
  now: number,
  limit: number,
): Promise<WebhookDeliveryRecord[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(deliveryColumns)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toDelivery);
}

export async function claimDelivery(
  db: Db,
  id: string,
  node: string,
  now: number,
  leaseUntil: number,
): Promise<boolean> {
  // The whole claim is one conditional UPDATE: on PostgreSQL a second node's UPDATE waits for
  // the first one's row lock and then re-checks the lease, so exactly one of them gets the row.
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ leased_by: node, leased_until: leaseUntil })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function finishDeliveryAttempt(
  db: Db,
  id: string,
  node: string,
  res: DeliveryAttemptResult,
): Promise<boolean> {
  const r = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: res.status,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: res.status === 'pending' ? res.nextAttemptAt : null,
      last_attempt_at: res.at,
      last_response_code: res.responseCode,
      last_error: res.error,
      ...(res.status === 'delivered' ? { delivered_at: res.at } : {}),
      leased_by: null,
      leased_until: null,
      updated_at: res.at,
    }))
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function releaseDelivery(db: Db, id: string, node: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ leased_by: null, leased_until: null })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .execute();
}

export async function getDelivery(
  db: Db,
  ws: string,
  webhookId: string,
  id: string,
): Promise<WebhookDeliveryRecord | undefined> {
  const r = await db
    .selectFrom('webhook_deliveries')
    .select(deliveryColumns)
    .where('workspace_id', '=', ws)
    .where('webhook_id', '=', webhookId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toDelivery(r);
}

export async function listDeliveries(
  db: Db,
  ws: string,
  webhookId: string,
  f: DeliveryListFilter,
): Promise<WebhookDeliveryRecord[]> {
  let q = db
    .selectFrom('webhook_deliveries')
    .select(deliveryColumns)
    .where('workspace_id', '=', ws)
    .where('webhook_id', '=', webhookId);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.page.after) q = q.where(olderThan(f.page.after));
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.page.limit).execute();
  return rows.map(toDelivery);
}

export async function scheduleRedelivery(
  db: Db,
  ws: string,
  webhookId: string,
  id: string,
  at: number,
): Promise<boolean> {
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: at, updated_at: at })
    .where('workspace_id', '=', ws)
    .where('webhook_id', '=', webhookId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function listKeysExpiringBetween(
  db: Db,
  after: number,
  until: number,
  reminder: ExpiryReminder,
  limit: number,
): Promise<KeyRecord[]> {
  const rows = await db
    .selectFrom('keys')
    .leftJoin('key_expiry_reminders as r', (join) =>
      join
        .onRef('r.key_id', '=', 'keys.id')
        .onRef('r.expires_at', '=', 'keys.expires_at')
        .on('r.reminder', '=', reminder),
    )
    .selectAll('keys')
    .where('keys.status', '=', 'active')
    .where('keys.replaced_by', 'is', null)
    .where('keys.expires_at', '>', after)
    .where('keys.expires_at', '<=', until)
    .where('r.key_id', 'is', null)
    .orderBy('keys.expires_at')
    .orderBy('keys.id')
    .limit(limit)
    .execute();
  return rows.map(toKey);
}

export async function insertExpiryReminder(
  db: Db,
  keyId: string,
  reminder: ExpiryReminder,
  expiresAt: number,
  at: number,
): Promise<boolean> {
  const r = await db
    .insertInto('key_expiry_reminders')
    .values({ key_id: keyId, reminder, expires_at: expiresAt, created_at: at })
    .onConflict((oc) => oc.columns(['key_id', 'reminder', 'expires_at']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}
