import { type Kysely, sql, type Transaction } from 'kysely';
import {
  type AuditFilter,
  type AuditRecord,
  type Credits,
  type EventRecord,
  GENESIS_HASH,
  type KeyFilter,
  type KeyPatch,
  type KeyRecord,
  type KeyspacePatch,
  type KeyspaceRecord,
  type KeyWithCredits,
  type PageRequest,
  type RootKeyRecord,
  runHooks,
  type Store,
  type StoreOps,
  StoreUnavailable,
  type WorkspaceRecord,
} from '../../core/store/index.js';
import * as alerts from './alert-ops.js';
import * as revocation from './revocation-ops.js';
import {
  fromKey,
  fromKeyspace,
  fromRootKey,
  toAudit,
  toCredits,
  toKeyspace,
  toKeyWithCredits,
  toRootKey,
} from './rows.js';
import * as scheduler from './scheduler-ops.js';
import type { Database, KeysTable } from './schema.js';
import { unique } from './sql-values.js';
import * as usage from './usage-ops.js';
import * as vault from './vault-ops.js';
import * as webhooks from './webhook-ops.js';

type Db = Kysely<Database> | Transaction<Database>;

// Connection-level failures: the database is down or unreachable, not the query wrong.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'SQLITE_BUSY',
]);

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailable) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  // SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown).
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

function translate(err: unknown): unknown {
  return isUnavailable(err) && !(err instanceof StoreUnavailable) ? new StoreUnavailable(err) : err;
}

/** Every store call either succeeds, fails on its merits, or throws StoreUnavailable. */
function guarded<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        } catch (err) {
          throw translate(err);
        }
      };
    },
  });
}

/** Newest-first cursor condition: rows strictly after `after` in (created_at desc, id desc) order. */
function olderThan(after: { createdAt: number; id: string }, table?: string) {
  const created = sql.ref(table ? `${table}.created_at` : 'created_at');
  const id = sql.ref(table ? `${table}.id` : 'id');
  return sql<boolean>`(${created} < ${after.createdAt} or (${created} = ${after.createdAt} and ${id} < ${after.id}))`;
}

function keyColumns(patch: KeyPatch): Partial<KeysTable> {
  const c: Partial<KeysTable> = { updated_at: patch.updatedAt };
  if (patch.name !== undefined) c.name = patch.name;
  if (patch.ownerId !== undefined) c.owner_id = patch.ownerId;
  if (patch.meta !== undefined) c.meta = JSON.stringify(patch.meta);
  if (patch.scopes !== undefined) c.scopes = JSON.stringify(patch.scopes);
  if (patch.status !== undefined) c.status = patch.status;
  if (patch.expiresAt !== undefined) c.expires_at = patch.expiresAt;
  if (patch.ratelimits !== undefined) c.ratelimits = JSON.stringify(patch.ratelimits);
  if (patch.restrictions !== undefined) c.restrictions = JSON.stringify(patch.restrictions);
  if (patch.replacedBy !== undefined) c.replaced_by = patch.replacedBy;
  if (patch.revokedAt !== undefined) c.revoked_at = patch.revokedAt;
  if (patch.revokeReason !== undefined) c.revoke_reason = patch.revokeReason;
  return c;
}

/** The store operations over one Kysely handle: the database itself, or a transaction. */
class SqlOps implements StoreOps {
  constructor(
    protected readonly db: Db,
    /** Present inside a transaction: what to run once it has committed. */
    private readonly commitHooks?: (() => void)[],
  ) {}

  afterCommit(fn: () => void): void {
    if (this.commitHooks) this.commitHooks.push(fn);
    else fn();
  }

  // Alerts' operations: bodies in alert-ops.ts.
  insertAlertRule: StoreOps['insertAlertRule'] = (r) => alerts.insertAlertRule(this.db, r);
  getAlertRule: StoreOps['getAlertRule'] = (ws, id) => alerts.getAlertRule(this.db, ws, id);
  listAlertRules: StoreOps['listAlertRules'] = (ws, page) => alerts.listAlertRules(this.db, ws, page);
  listEnabledAlertRules: StoreOps['listEnabledAlertRules'] = (ws) =>
    alerts.listEnabledAlertRules(this.db, ws);
  updateAlertRule: StoreOps['updateAlertRule'] = (ws, id, p) => alerts.updateAlertRule(this.db, ws, id, p);
  deleteAlertRule: StoreOps['deleteAlertRule'] = (ws, id) => alerts.deleteAlertRule(this.db, ws, id);
  insertAlert: StoreOps['insertAlert'] = (a) => alerts.insertAlert(this.db, a);
  listAlerts: StoreOps['listAlerts'] = (ws, f) => alerts.listAlerts(this.db, ws, f);
  addAlertCounts: StoreOps['addAlertCounts'] = (incs) => alerts.addAlertCounts(this.db, incs);
  sumAlertCounts: StoreOps['sumAlertCounts'] = (rule, subjects, since) =>
    alerts.sumAlertCounts(this.db, rule, subjects, since);
  purgeAlertCounts: StoreOps['purgeAlertCounts'] = (now) => alerts.purgeAlertCounts(this.db, now);
  getAlertBaseline: StoreOps['getAlertBaseline'] = (rule, subject) =>
    alerts.getAlertBaseline(this.db, rule, subject);
  saveAlertBaseline: StoreOps['saveAlertBaseline'] = (b, v) => alerts.saveAlertBaseline(this.db, b, v);
  rememberKeyNetworks: StoreOps['rememberKeyNetworks'] = (ws, keyId, networks, at) =>
    alerts.rememberKeyNetworks(this.db, ws, keyId, networks, at);
  claimAlertFiring: StoreOps['claimAlertFiring'] = (rule, subject, now, until) =>
    alerts.claimAlertFiring(this.db, rule, subject, now, until);

  // The vault's operations: bodies in vault-ops.ts.
  getSecret: StoreOps['getSecret'] = (ws, path) => vault.getSecret(this.db, ws, path);
  insertSecret: StoreOps['insertSecret'] = (s) => vault.insertSecret(this.db, s);
  updateSecret: StoreOps['updateSecret'] = (ws, path, patch, guard) =>
    vault.updateSecret(this.db, ws, path, patch, guard);
  listSecrets: StoreOps['listSecrets'] = (ws, filter) => vault.listSecrets(this.db, ws, filter);
  insertSecretVersion: StoreOps['insertSecretVersion'] = (v) => vault.insertSecretVersion(this.db, v);
  getSecretVersion: StoreOps['getSecretVersion'] = (ws, path, v) =>
    vault.getSecretVersion(this.db, ws, path, v);
  listSecretVersions: StoreOps['listSecretVersions'] = (ws, paths) =>
    vault.listSecretVersions(this.db, ws, paths);
  deleteSecretVersions: StoreOps['deleteSecretVersions'] = (ws, path, vs) =>
    vault.deleteSecretVersions(this.db, ws, path, vs);
  destroySecretVersion: StoreOps['destroySecretVersion'] = (ws, path, v, at) =>
    vault.destroySecretVersion(this.db, ws, path, v, at);
  listSecretsDueForRotation: StoreOps['listSecretsDueForRotation'] = (now, limit) =>
    vault.listSecretsDueForRotation(this.db, now, limit);
  markSecretRotationNotified: StoreOps['markSecretRotationNotified'] = (ws, path, v) =>
    vault.markSecretRotationNotified(this.db, ws, path, v);
  countWrappedKeys: StoreOps['countWrappedKeys'] = () => vault.countWrappedKeys(this.db);
  scanWrappedKeys: StoreOps['scanWrappedKeys'] = (after, limit) =>
    vault.scanWrappedKeys(this.db, after, limit);
  updateWrappedKey: StoreOps['updateWrappedKey'] = (p, k) => vault.updateWrappedKey(this.db, p, k);
  getMasterKeyCheck: StoreOps['getMasterKeyCheck'] = () => vault.getMasterKeyCheck(this.db);
  insertMasterKeyCheck: StoreOps['insertMasterKeyCheck'] = (c, at) =>
    vault.insertMasterKeyCheck(this.db, c, at);
  replaceMasterKeyCheck: StoreOps['replaceMasterKeyCheck'] = (c, at) =>
    vault.replaceMasterKeyCheck(this.db, c, at);

  // Usage events and rollups: bodies in usage-ops.ts.
  insertUsageEvents: StoreOps['insertUsageEvents'] = (events) => usage.insertUsageEvents(this.db, events);
  addUsageCounts: StoreOps['addUsageCounts'] = (table, counts) =>
    usage.addUsageCounts(this.db, table, counts);
  touchKeysLastUsed: StoreOps['touchKeysLastUsed'] = (uses) => usage.touchKeysLastUsed(this.db, uses);
  usageSeries: StoreOps['usageSeries'] = (ws, keyId, q) => usage.usageSeries(this.db, ws, keyId, q);
  listUsageEvents: StoreOps['listUsageEvents'] = (ws, keyId, page) =>
    usage.listUsageEvents(this.db, ws, keyId, page);
  purgeUsageEvents: StoreOps['purgeUsageEvents'] = (before, limit) =>
    usage.purgeUsageEvents(this.db, before, limit);
  purgeUsageCounts: StoreOps['purgeUsageCounts'] = (table, before, limit) =>
    usage.purgeUsageCounts(this.db, table, before, limit);

  // Webhooks' operations: bodies in webhook-ops.ts.
  // Bulk revocation and incidents live in revocation-ops.ts (the usage of an incident's keys in
  // usage-ops.ts, with the other readers of usage event blocks).
  bulkRevokeKeys: StoreOps['bulkRevokeKeys'] = (f, at, reason) =>
    revocation.bulkRevokeKeys(this.db, f, at, reason);
  recordEvents: StoreOps['recordEvents'] = (events) => revocation.recordEvents(this.db, events);
  insertIncident: StoreOps['insertIncident'] = (i) => revocation.insertIncident(this.db, i);
  getIncident: StoreOps['getIncident'] = (ws, id) => revocation.getIncident(this.db, ws, id);
  updateIncident: StoreOps['updateIncident'] = (ws, id, patch) =>
    revocation.updateIncident(this.db, ws, id, patch);
  usageEventsOfKeys: StoreOps['usageEventsOfKeys'] = (ws, ids, from, to, limit) =>
    usage.usageEventsOfKeys(this.db, ws, ids, from, to, limit);
  // The scheduler's operations live in scheduler-ops.ts; these delegate to them.
  acquireLease: StoreOps['acquireLease'] = (name, holder, ttl, now) =>
    scheduler.acquireLease(this.db, name, holder, ttl, now);
  releaseLease: StoreOps['releaseLease'] = (name, holder) => scheduler.releaseLease(this.db, name, holder);
  listKeyspacesWithRotation: StoreOps['listKeyspacesWithRotation'] = () =>
    scheduler.listKeyspacesWithRotation(this.db);
  listRotationCandidates: StoreOps['listRotationCandidates'] = (ks, before, now, limit) =>
    scheduler.listRotationCandidates(this.db, ks, before, now, limit);
  markRotationDue: StoreOps['markRotationDue'] = (r) => scheduler.markRotationDue(this.db, r);
  getRotationDue: StoreOps['getRotationDue'] = (keyId) => scheduler.getRotationDue(this.db, keyId);
  insertWebhook: StoreOps['insertWebhook'] = (w) => webhooks.insertWebhook(this.db, w);
  getWebhook: StoreOps['getWebhook'] = (ws, id) => webhooks.getWebhook(this.db, ws, id);
  listWebhooks: StoreOps['listWebhooks'] = (ws, page) => webhooks.listWebhooks(this.db, ws, page);
  listWorkspaceWebhooks: StoreOps['listWorkspaceWebhooks'] = (ws) =>
    webhooks.listWorkspaceWebhooks(this.db, ws);
  deleteWebhook: StoreOps['deleteWebhook'] = (ws, id) => webhooks.deleteWebhook(this.db, ws, id);
  listSealedWebhookSecrets: StoreOps['listSealedWebhookSecrets'] = () =>
    webhooks.listSealedWebhookSecrets(this.db);
  setSealedWebhookSecret: StoreOps['setSealedWebhookSecret'] = (ws, id, sealed) =>
    webhooks.setSealedWebhookSecret(this.db, ws, id, sealed);
  purgeWebhookHistory: StoreOps['purgeWebhookHistory'] = (before, limit) =>
    webhooks.purgeWebhookHistory(this.db, before, limit);
  listUndispatchedEvents: StoreOps['listUndispatchedEvents'] = (limit) =>
    webhooks.listUndispatchedEvents(this.db, limit);
  markEventsDispatched: StoreOps['markEventsDispatched'] = (ids, at) =>
    webhooks.markEventsDispatched(this.db, ids, at);
  insertDelivery: StoreOps['insertDelivery'] = (d) => webhooks.insertDelivery(this.db, d);
  listDueDeliveries: StoreOps['listDueDeliveries'] = (now, limit) =>
    webhooks.listDueDeliveries(this.db, now, limit);
  claimDelivery: StoreOps['claimDelivery'] = (id, node, now, until) =>
    webhooks.claimDelivery(this.db, id, node, now, until);
  finishDeliveryAttempt: StoreOps['finishDeliveryAttempt'] = (id, node, r) =>
    webhooks.finishDeliveryAttempt(this.db, id, node, r);
  releaseDelivery: StoreOps['releaseDelivery'] = (id, node) => webhooks.releaseDelivery(this.db, id, node);
  getDelivery: StoreOps['getDelivery'] = (ws, wh, id) => webhooks.getDelivery(this.db, ws, wh, id);
  listDeliveries: StoreOps['listDeliveries'] = (ws, wh, f) => webhooks.listDeliveries(this.db, ws, wh, f);
  scheduleRedelivery: StoreOps['scheduleRedelivery'] = (ws, wh, id, at) =>
    webhooks.scheduleRedelivery(this.db, ws, wh, id, at);
  listKeysExpiringBetween: StoreOps['listKeysExpiringBetween'] = (after, until, reminder, limit) =>
    webhooks.listKeysExpiringBetween(this.db, after, until, reminder, limit);
  insertExpiryReminder: StoreOps['insertExpiryReminder'] = (keyId, reminder, expiresAt, at) =>
    webhooks.insertExpiryReminder(this.db, keyId, reminder, expiresAt, at);

  async insertWorkspace(ws: WorkspaceRecord): Promise<void> {
    await unique('workspace name', () =>
      this.db
        .insertInto('workspaces')
        .values({ id: ws.id, name: ws.name, created_at: ws.createdAt })
        .execute(),
    );
  }
  async getWorkspaceByName(name: string): Promise<WorkspaceRecord | undefined> {
    const r = await this.db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? { id: r.id, name: r.name, createdAt: Number(r.created_at) } : undefined;
  }
  async countWorkspaces(): Promise<number> {
    const r = await this.db
      .selectFrom('workspaces')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async insertRootKey(rk: RootKeyRecord): Promise<void> {
    await unique('root key', () => this.db.insertInto('root_keys').values(fromRootKey(rk)).execute());
  }
  async getRootKeyByHash(hash: string): Promise<RootKeyRecord | undefined> {
    const r = await this.db.selectFrom('root_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r && toRootKey(r);
  }
  async getRootKey(workspaceId: string, id: string): Promise<RootKeyRecord | undefined> {
    const r = await this.db
      .selectFrom('root_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r && toRootKey(r);
  }
  async listRootKeys(workspaceId: string, page: PageRequest): Promise<RootKeyRecord[]> {
    let q = this.db.selectFrom('root_keys').selectAll().where('workspace_id', '=', workspaceId);
    if (page.after) q = q.where(olderThan(page.after));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(toRootKey);
  }
  async revokeRootKey(workspaceId: string, id: string, at: number): Promise<void> {
    await this.db
      .updateTable('root_keys')
      .set({ revoked_at: at })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .execute();
  }

  async insertKeyspace(ks: KeyspaceRecord): Promise<void> {
    await unique('keyspace name', () => this.db.insertInto('keyspaces').values(fromKeyspace(ks)).execute());
  }
  async getKeyspace(workspaceId: string, id: string): Promise<KeyspaceRecord | undefined> {
    const r = await this.db
      .selectFrom('keyspaces')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r && toKeyspace(r);
  }
  async getKeyspaceByName(workspaceId: string, name: string): Promise<KeyspaceRecord | undefined> {
    const r = await this.db
      .selectFrom('keyspaces')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && toKeyspace(r);
  }
  async listKeyspaces(workspaceId: string, page: PageRequest): Promise<KeyspaceRecord[]> {
    let q = this.db.selectFrom('keyspaces').selectAll().where('workspace_id', '=', workspaceId);
    if (page.after) q = q.where(olderThan(page.after));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(toKeyspace);
  }
  async updateKeyspace(workspaceId: string, id: string, patch: KeyspacePatch): Promise<void> {
    const set: Partial<Database['keyspaces']> = { updated_at: patch.updatedAt };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.prefix !== undefined) set.prefix = patch.prefix;
    if (patch.defaults !== undefined) set.defaults = JSON.stringify(patch.defaults);
    if (patch.rotation !== undefined) set.rotation = JSON.stringify(patch.rotation);
    await unique('keyspace name', () =>
      this.db
        .updateTable('keyspaces')
        .set(set)
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .execute(),
    );
  }
  async deleteKeyspace(workspaceId: string, id: string): Promise<void> {
    await this.db
      .deleteFrom('keyspaces')
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .execute();
  }
  async countKeys(workspaceId: string, keyspaceId: string): Promise<number> {
    const r = await this.db
      .selectFrom('keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('workspace_id', '=', workspaceId)
      .where('keyspace_id', '=', keyspaceId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  private keysWithCredits() {
    return this.db
      .selectFrom('keys')
      .leftJoin('key_credits', 'key_credits.lineage_id', 'keys.lineage_id')
      .selectAll('keys')
      .select([
        'key_credits.remaining',
        'key_credits.refill_amount',
        'key_credits.refill_interval',
        'key_credits.refill_day',
        'key_credits.low_threshold',
      ]);
  }

  async insertKey(key: KeyRecord, credits: Credits | null): Promise<void> {
    await unique('key', () => this.db.insertInto('keys').values(fromKey(key)).execute());
    if (credits && key.lineageId === key.id) await this.setCredits(key.lineageId, credits, key.createdAt);
  }
  async getKey(workspaceId: string, id: string): Promise<KeyWithCredits | undefined> {
    const r = await this.keysWithCredits()
      .where('keys.workspace_id', '=', workspaceId)
      .where('keys.id', '=', id)
      .executeTakeFirst();
    return r && toKeyWithCredits(r);
  }
  async getKeyByHash(hash: string): Promise<KeyWithCredits | undefined> {
    const r = await this.keysWithCredits().where('keys.hash', '=', hash).executeTakeFirst();
    return r && toKeyWithCredits(r);
  }
  async listKeys(workspaceId: string, f: KeyFilter, page: PageRequest): Promise<KeyWithCredits[]> {
    let q = this.keysWithCredits()
      .where('keys.workspace_id', '=', workspaceId)
      .where('keys.keyspace_id', '=', f.keyspaceId);
    if (f.ownerId !== undefined) q = q.where('keys.owner_id', '=', f.ownerId);
    if (f.status === 'expired') {
      q = q.where('keys.status', '=', 'active').where('keys.expires_at', '<=', f.now);
    } else if (f.status === 'active') {
      q = q
        .where('keys.status', '=', 'active')
        .where((eb) => eb.or([eb('keys.expires_at', 'is', null), eb('keys.expires_at', '>', f.now)]));
    } else if (f.status !== undefined) {
      q = q.where('keys.status', '=', f.status);
    }
    const expiresBefore = f.expiresBefore;
    if (expiresBefore !== undefined)
      q = q.where('keys.expires_at', '>', f.now).where('keys.expires_at', '<=', expiresBefore);
    if (f.replaced !== undefined) q = q.where('keys.replaced_by', f.replaced ? 'is not' : 'is', null);
    if (f.rotationDue !== undefined) {
      const due = sql<boolean>`exists (select 1 from key_rotation_due d where d.key_id = keys.id)`;
      q = q.where(f.rotationDue ? due : sql<boolean>`not ${due}`);
    }
    if (page.after) q = q.where(olderThan(page.after, 'keys'));
    const rows = await q
      .orderBy('keys.created_at', 'desc')
      .orderBy('keys.id', 'desc')
      .limit(page.limit)
      .execute();
    return rows.map(toKeyWithCredits);
  }
  async updateKey(workspaceId: string, id: string, patch: KeyPatch): Promise<void> {
    await this.db
      .updateTable('keys')
      .set(keyColumns(patch))
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .execute();
  }
  async deleteKey(workspaceId: string, id: string): Promise<void> {
    const row = await this.db
      .deleteFrom('keys')
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .returning('lineage_id')
      .executeTakeFirst();
    if (!row) return;
    const left = await this.db
      .selectFrom('keys')
      .select('id')
      .where('lineage_id', '=', row.lineage_id)
      .limit(1)
      .executeTakeFirst();
    if (!left) await this.db.deleteFrom('key_credits').where('lineage_id', '=', row.lineage_id).execute();
  }
  async setCredits(lineageId: string, credits: Credits | null, at: number): Promise<void> {
    if (!credits) {
      await this.db.deleteFrom('key_credits').where('lineage_id', '=', lineageId).execute();
      return;
    }
    const cols = {
      remaining: credits.remaining,
      refill_amount: credits.refill?.amount ?? null,
      refill_interval: credits.refill?.interval ?? null,
      refill_day: credits.refill?.day ?? null,
      low_threshold: credits.lowThreshold ?? null,
      refilled_at: at,
    };
    await this.db
      .insertInto('key_credits')
      .values({ lineage_id: lineageId, ...cols })
      .onConflict((oc) => oc.column('lineage_id').doUpdateSet(cols))
      .execute();
  }

  async adjustCredits(lineageId: string, delta: number): Promise<Credits | undefined> {
    const row = await this.db
      .updateTable('key_credits')
      .set((eb) => ({
        remaining: eb
          .case()
          .when(eb('remaining', '+', delta), '<', 0)
          .then(0)
          .else(eb('remaining', '+', delta))
          .end(),
      }))
      .where('lineage_id', '=', lineageId)
      .returning(['remaining', 'refill_amount', 'refill_interval', 'refill_day', 'low_threshold'])
      .executeTakeFirst();
    return row ? (toCredits(row) ?? undefined) : undefined;
  }

  async spendCredits(
    lineageId: string,
    cost: number,
    refillPeriodStart: number | null,
  ): Promise<{ ok: boolean; remaining: number } | undefined> {
    if (refillPeriodStart !== null) {
      // Idempotent across nodes: only the first caller after the period starts finds it due.
      await this.db
        .updateTable('key_credits')
        .set({
          // A refill raises the balance to the amount; it never lowers a larger balance.
          remaining: sql<number>`case when remaining > refill_amount then remaining else refill_amount end`,
          refilled_at: refillPeriodStart,
        })
        .where('lineage_id', '=', lineageId)
        .where('refill_amount', 'is not', null)
        .where((eb) => eb.or([eb('refilled_at', 'is', null), eb('refilled_at', '<', refillPeriodStart)]))
        .execute();
    }
    if (cost > 0) {
      // One conditional UPDATE: the balance check and the spend cannot be separated by
      // another request, so the balance never goes below zero.
      const spent = await this.db
        .updateTable('key_credits')
        .set((eb) => ({ remaining: eb('remaining', '-', cost) }))
        .where('lineage_id', '=', lineageId)
        .where('remaining', '>=', cost)
        .returning('remaining')
        .executeTakeFirst();
      if (spent) return { ok: true, remaining: Number(spent.remaining) };
    }
    const row = await this.db
      .selectFrom('key_credits')
      .select('remaining')
      .where('lineage_id', '=', lineageId)
      .executeTakeFirst();
    if (!row) return undefined;
    const remaining = Number(row.remaining);
    return { ok: cost === 0 && remaining > 0, remaining };
  }

  async nextAuditLink(workspaceId: string): Promise<{ seq: number; prevHash: string }> {
    // Make sure the chain's head row exists (first entry of a workspace), then bump it. The
    // UPDATE takes the row lock on PostgreSQL, so concurrent writers of one chain queue here
    // instead of both linking to the same predecessor.
    await this.db
      .insertInto('audit_heads')
      .values({ workspace_id: workspaceId, seq: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('workspace_id').doNothing())
      .execute();
    const bumped = await this.db
      .updateTable('audit_heads')
      .set((eb) => ({ seq: eb('seq', '+', 1) }))
      .where('workspace_id', '=', workspaceId)
      .returning(['seq', 'hash'])
      .executeTakeFirstOrThrow();
    return { seq: Number(bumped.seq), prevHash: bumped.hash };
  }
  async insertAuditEntry(e: AuditRecord): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        workspace_id: e.workspaceId,
        seq: e.seq,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target_type: e.targetType,
        target_id: e.targetId,
        ip: e.ip,
        data: JSON.stringify(e.data),
        prev_hash: e.prevHash,
        hash: e.hash,
      })
      .execute();
    await this.db
      .updateTable('audit_heads')
      .set({ seq: e.seq, hash: e.hash })
      .where('workspace_id', '=', e.workspaceId)
      .execute();
  }
  async listAudit(workspaceId: string, f: AuditFilter): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('workspace_id', '=', workspaceId);
    if (f.action !== undefined) q = q.where('action', '=', f.action);
    if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
    if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
    const rows = await q.orderBy('seq', 'desc').limit(f.limit).execute();
    return rows.map(toAudit);
  }
  async scanAudit(workspaceId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('seq', '>=', fromSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toAudit);
  }
  async recordEvent(e: EventRecord): Promise<void> {
    await this.db
      .insertInto('events')
      .values({
        id: e.id,
        workspace_id: e.workspaceId,
        type: e.type,
        data: JSON.stringify(e.data),
        created_at: e.createdAt,
      })
      .execute();
  }
  async listEvents(
    workspaceId: string,
    filter: { type?: string | undefined; limit: number },
  ): Promise<EventRecord[]> {
    let q = this.db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      type: r.type,
      data: JSON.parse(r.data) as Record<string, unknown>,
      createdAt: Number(r.created_at),
    }));
  }
  async auditHead(workspaceId: string): Promise<{ seq: number; hash: string }> {
    const r = await this.db
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : { seq: 0, hash: GENESIS_HASH };
  }
}

/** The Kysely store: one implementation for every SQL dialect Keyward supports. */
export class SqlStore extends SqlOps implements Store {
  constructor(
    private readonly kysely: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
  ) {
    super(kysely);
  }

  /** This store with every operation's connection failures translated to StoreUnavailable. */
  static open(kysely: Kysely<Database>, dialect: 'sqlite' | 'postgres'): SqlStore {
    return guarded(new SqlStore(kysely, dialect));
  }

  /** A cheap round trip, for readiness checks. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.kysely);
  }

  async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    try {
      const hooks: (() => void)[] = [];
      const result = await this.kysely.transaction().execute((trx) => fn(guarded(new SqlOps(trx, hooks))));
      runHooks(hooks);
      return result;
    } catch (err) {
      throw translate(err);
    }
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }

  /** The underlying handle, for adapters and tests that need raw SQL (tamper tests). */
  get database(): Kysely<Database> {
    return this.kysely;
  }
}
