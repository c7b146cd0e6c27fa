import type { AlertStoreOps } from './alert-store.js';
import { type AlertState, emptyAlertState, memoryAlertOps } from './memory-alerts.js';
import { emptyUsageState, memoryUsageOps, type UsageState } from './memory-usage.js';
import { emptyVaultState, memoryVaultOps, type VaultState } from './memory-vault.js';
import { emptyWebhookState, memoryWebhookOps, type WebhookState } from './memory-webhooks.js';
import type {
  AuditRecord,
  Credits,
  EventRecord,
  KeyRecord,
  KeyspaceRecord,
  KeyWithCredits,
  RootKeyRecord,
  WorkspaceRecord,
} from './records.js';
import type { BulkRevokeFilter, IncidentNote, IncidentRecord, RevokedKeyRef } from './revocation-store.js';
import type { RotationDueRecord } from './scheduler-store.js';
import {
  type AuditFilter,
  GENESIS_HASH,
  type KeyFilter,
  type KeyPatch,
  type KeyspacePatch,
  type PageRequest,
  runHooks,
  type Store,
  type StoreOps,
  UniqueViolation,
} from './store.js';
import type { UsageEventRecord, UsageStoreOps } from './usage-store.js';
import type { VaultStoreOps } from './vault-store.js';
import type { WebhookStoreOps } from './webhook-store.js';

interface State {
  workspaces: Map<string, WorkspaceRecord>;
  rootKeys: Map<string, RootKeyRecord>;
  keyspaces: Map<string, KeyspaceRecord>;
  keys: Map<string, KeyRecord>;
  credits: Map<string, Credits>;
  audit: Map<string, AuditRecord[]>;
  heads: Map<string, { seq: number; hash: string }>;
  events: EventRecord[];
  vault: VaultState;
  usage: UsageState;
  webhooks: WebhookState;
  alerts: AlertState;
  refilledAt: Map<string, number>;
  leases: Map<string, { holder: string; expiresAt: number }>;
  rotationDue: Map<string, RotationDueRecord>;
  incidents: Map<string, IncidentRecord>;
}

const emptyState = (): State => ({
  workspaces: new Map(),
  rootKeys: new Map(),
  keyspaces: new Map(),
  keys: new Map(),
  credits: new Map(),
  audit: new Map(),
  heads: new Map(),
  events: [],
  vault: emptyVaultState(),
  usage: emptyUsageState(),
  webhooks: emptyWebhookState(),
  alerts: emptyAlertState(),
  refilledAt: new Map(),
  leases: new Map(),
  rotationDue: new Map(),
  incidents: new Map(),
});

function page<T extends { createdAt: number; id: string }>(rows: T[], req: PageRequest): T[] {
  const sorted = rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const after = req.after;
  const from = after
    ? sorted.filter(
        (r) => r.createdAt < after.createdAt || (r.createdAt === after.createdAt && r.id < after.id),
      )
    : sorted;
  return from.slice(0, req.limit).map((r) => structuredClone(r));
}

function effectiveStatus(k: KeyRecord, now: number): string {
  return k.status === 'active' && k.expiresAt !== null && k.expiresAt <= now ? 'expired' : k.status;
}

/** The in-memory store: the reference implementation of the store contract, and a test double. */
export class MemoryStore implements Store {
  private state = emptyState();
  private lock: Promise<unknown> = Promise.resolve();

  async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const snapshot = structuredClone(this.state);
      const hooks: (() => void)[] = [];
      this.afterCommitHooks = hooks;
      try {
        const result = await fn(this);
        this.afterCommitHooks = null;
        runHooks(hooks);
        return result;
      } catch (err) {
        this.afterCommitHooks = null;
        this.state = snapshot;
        throw err;
      }
    };
    const result = this.lock.then(run, run);
    this.lock = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {}

  private afterCommitHooks: (() => void)[] | null = null;
  afterCommit(fn: () => void): void {
    if (this.afterCommitHooks) this.afterCommitHooks.push(fn);
    else fn();
  }

  async insertWorkspace(ws: WorkspaceRecord): Promise<void> {
    for (const w of this.state.workspaces.values())
      if (w.name === ws.name) throw new UniqueViolation('workspace name');
    this.state.workspaces.set(ws.id, structuredClone(ws));
  }
  async getWorkspaceByName(name: string): Promise<WorkspaceRecord | undefined> {
    for (const w of this.state.workspaces.values()) if (w.name === name) return structuredClone(w);
    return undefined;
  }
  async countWorkspaces(): Promise<number> {
    return this.state.workspaces.size;
  }

  async insertRootKey(rk: RootKeyRecord): Promise<void> {
    this.state.rootKeys.set(rk.id, structuredClone(rk));
  }
  async getRootKeyByHash(hash: string): Promise<RootKeyRecord | undefined> {
    for (const r of this.state.rootKeys.values()) if (r.hash === hash) return structuredClone(r);
    return undefined;
  }
  async getRootKey(workspaceId: string, id: string): Promise<RootKeyRecord | undefined> {
    const r = this.state.rootKeys.get(id);
    return r && r.workspaceId === workspaceId ? structuredClone(r) : undefined;
  }
  async listRootKeys(workspaceId: string, req: PageRequest): Promise<RootKeyRecord[]> {
    return page(
      [...this.state.rootKeys.values()].filter((r) => r.workspaceId === workspaceId),
      req,
    );
  }
  async revokeRootKey(workspaceId: string, id: string, at: number): Promise<void> {
    const r = this.state.rootKeys.get(id);
    if (r && r.workspaceId === workspaceId) r.revokedAt = at;
  }

  async insertKeyspace(ks: KeyspaceRecord): Promise<void> {
    if (await this.getKeyspaceByName(ks.workspaceId, ks.name)) throw new UniqueViolation('keyspace name');
    this.state.keyspaces.set(ks.id, structuredClone(ks));
  }
  async getKeyspace(workspaceId: string, id: string): Promise<KeyspaceRecord | undefined> {
    const k = this.state.keyspaces.get(id);
    return k && k.workspaceId === workspaceId ? structuredClone(k) : undefined;
  }
  async getKeyspaceByName(workspaceId: string, name: string): Promise<KeyspaceRecord | undefined> {
    for (const k of this.state.keyspaces.values())
      if (k.workspaceId === workspaceId && k.name === name) return structuredClone(k);
    return undefined;
  }
  async listKeyspaces(workspaceId: string, req: PageRequest): Promise<KeyspaceRecord[]> {
    return page(
      [...this.state.keyspaces.values()].filter((k) => k.workspaceId === workspaceId),
      req,
    );
  }
  async updateKeyspace(workspaceId: string, id: string, patch: KeyspacePatch): Promise<void> {
    const k = this.state.keyspaces.get(id);
    if (!k || k.workspaceId !== workspaceId) return;
    if (
      patch.name !== undefined &&
      patch.name !== k.name &&
      (await this.getKeyspaceByName(workspaceId, patch.name))
    )
      throw new UniqueViolation('keyspace name');
    Object.assign(k, structuredClone(patch));
  }
  async deleteKeyspace(workspaceId: string, id: string): Promise<void> {
    const k = this.state.keyspaces.get(id);
    if (k && k.workspaceId === workspaceId) this.state.keyspaces.delete(id);
  }
  async countKeys(workspaceId: string, keyspaceId: string): Promise<number> {
    let n = 0;
    for (const k of this.state.keys.values())
      if (k.workspaceId === workspaceId && k.keyspaceId === keyspaceId) n++;
    return n;
  }

  private withCredits(k: KeyRecord): KeyWithCredits {
    const c = this.state.credits.get(k.lineageId);
    return { ...structuredClone(k), credits: c ? structuredClone(c) : null };
  }

  async insertKey(key: KeyRecord, credits: Credits | null): Promise<void> {
    for (const k of this.state.keys.values()) if (k.hash === key.hash) throw new UniqueViolation('key hash');
    this.state.keys.set(key.id, structuredClone(key));
    if (credits && key.lineageId === key.id) await this.setCredits(key.lineageId, credits, key.createdAt);
  }
  async getKey(workspaceId: string, id: string): Promise<KeyWithCredits | undefined> {
    const k = this.state.keys.get(id);
    return k && k.workspaceId === workspaceId ? this.withCredits(k) : undefined;
  }
  async getKeyByHash(hash: string): Promise<KeyWithCredits | undefined> {
    for (const k of this.state.keys.values()) if (k.hash === hash) return this.withCredits(k);
    return undefined;
  }
  async listKeys(workspaceId: string, filter: KeyFilter, req: PageRequest): Promise<KeyWithCredits[]> {
    const rows = [...this.state.keys.values()].filter(
      (k) =>
        k.workspaceId === workspaceId &&
        k.keyspaceId === filter.keyspaceId &&
        (filter.ownerId === undefined || k.ownerId === filter.ownerId) &&
        (filter.status === undefined || effectiveStatus(k, filter.now) === filter.status) &&
        (filter.expiresBefore === undefined ||
          (k.expiresAt !== null && k.expiresAt > filter.now && k.expiresAt <= filter.expiresBefore)) &&
        (filter.rotationDue === undefined || this.state.rotationDue.has(k.id) === filter.rotationDue) &&
        (filter.replaced === undefined || (k.replacedBy !== null) === filter.replaced),
    );
    return page(rows, req).map((k) => this.withCredits(k));
  }
  async updateKey(workspaceId: string, id: string, patch: KeyPatch): Promise<void> {
    const k = this.state.keys.get(id);
    if (k && k.workspaceId === workspaceId) Object.assign(k, structuredClone(patch));
  }
  async deleteKey(workspaceId: string, id: string): Promise<void> {
    const k = this.state.keys.get(id);
    if (!k || k.workspaceId !== workspaceId) return;
    this.state.keys.delete(id);
    const stillUsed = [...this.state.keys.values()].some((o) => o.lineageId === k.lineageId);
    if (!stillUsed) this.state.credits.delete(k.lineageId);
  }
  async setCredits(lineageId: string, credits: Credits | null, at: number): Promise<void> {
    if (credits) {
      this.state.credits.set(lineageId, structuredClone(credits));
      this.state.refilledAt.set(lineageId, at);
    } else this.state.credits.delete(lineageId);
  }
  async adjustCredits(lineageId: string, delta: number): Promise<Credits | undefined> {
    const c = this.state.credits.get(lineageId);
    if (!c) return undefined;
    c.remaining = Math.max(0, c.remaining + delta);
    return structuredClone(c);
  }
  async spendCredits(
    lineageId: string,
    cost: number,
    refillPeriodStart: number | null,
  ): Promise<{ ok: boolean; remaining: number } | undefined> {
    const c = this.state.credits.get(lineageId);
    if (!c) return undefined;
    const last = this.state.refilledAt.get(lineageId);
    if (c.refill && refillPeriodStart !== null && (last === undefined || last < refillPeriodStart)) {
      c.remaining = Math.max(c.remaining, c.refill.amount);
      this.state.refilledAt.set(lineageId, refillPeriodStart);
    }
    if (cost === 0) return { ok: c.remaining > 0, remaining: c.remaining };
    if (c.remaining < cost) return { ok: false, remaining: c.remaining };
    c.remaining -= cost;
    return { ok: true, remaining: c.remaining };
  }

  async nextAuditLink(workspaceId: string): Promise<{ seq: number; prevHash: string }> {
    const head = this.state.heads.get(workspaceId) ?? { seq: 0, hash: GENESIS_HASH };
    return { seq: head.seq + 1, prevHash: head.hash };
  }
  async insertAuditEntry(entry: AuditRecord): Promise<void> {
    const list = this.state.audit.get(entry.workspaceId) ?? [];
    list.push(structuredClone(entry));
    this.state.audit.set(entry.workspaceId, list);
    this.state.heads.set(entry.workspaceId, { seq: entry.seq, hash: entry.hash });
  }
  async listAudit(workspaceId: string, f: AuditFilter): Promise<AuditRecord[]> {
    const list = this.state.audit.get(workspaceId) ?? [];
    return list
      .filter(
        (e) =>
          (f.action === undefined || e.action === f.action) &&
          (f.targetId === undefined || e.targetId === f.targetId) &&
          (f.beforeSeq === undefined || e.seq < f.beforeSeq),
      )
      .sort((a, b) => b.seq - a.seq)
      .slice(0, f.limit)
      .map((e) => structuredClone(e));
  }
  async scanAudit(workspaceId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const list = this.state.audit.get(workspaceId) ?? [];
    return list
      .filter((e) => e.seq >= fromSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }
  async recordEvent(event: EventRecord): Promise<void> {
    this.state.events.push(structuredClone(event));
  }
  async listEvents(
    workspaceId: string,
    filter: { type?: string | undefined; limit: number },
  ): Promise<EventRecord[]> {
    return this.state.events
      .filter((e) => e.workspaceId === workspaceId && (filter.type === undefined || e.type === filter.type))
      .reverse()
      .slice(0, filter.limit)
      .map((e) => structuredClone(e));
  }
  async auditHead(workspaceId: string): Promise<{ seq: number; hash: string }> {
    return { ...(this.state.heads.get(workspaceId) ?? { seq: 0, hash: GENESIS_HASH }) };
  }

  // The vault's operations live in memory-vault.ts; these delegate to them.
  private readonly vaultOps = memoryVaultOps(() => this.state.vault);
  getSecret: VaultStoreOps['getSecret'] = (...a) => this.vaultOps.getSecret(...a);
  insertSecret: VaultStoreOps['insertSecret'] = (...a) => this.vaultOps.insertSecret(...a);
  updateSecret: VaultStoreOps['updateSecret'] = (...a) => this.vaultOps.updateSecret(...a);
  listSecrets: VaultStoreOps['listSecrets'] = (...a) => this.vaultOps.listSecrets(...a);
  insertSecretVersion: VaultStoreOps['insertSecretVersion'] = (...a) =>
    this.vaultOps.insertSecretVersion(...a);
  getSecretVersion: VaultStoreOps['getSecretVersion'] = (...a) => this.vaultOps.getSecretVersion(...a);
  listSecretVersions: VaultStoreOps['listSecretVersions'] = (...a) => this.vaultOps.listSecretVersions(...a);
  deleteSecretVersions: VaultStoreOps['deleteSecretVersions'] = (...a) =>
    this.vaultOps.deleteSecretVersions(...a);
  destroySecretVersion: VaultStoreOps['destroySecretVersion'] = (...a) =>
    this.vaultOps.destroySecretVersion(...a);
  listSecretsDueForRotation: VaultStoreOps['listSecretsDueForRotation'] = (...a) =>
    this.vaultOps.listSecretsDueForRotation(...a);
  markSecretRotationNotified: VaultStoreOps['markSecretRotationNotified'] = (...a) =>
    this.vaultOps.markSecretRotationNotified(...a);
  countWrappedKeys: VaultStoreOps['countWrappedKeys'] = () => this.vaultOps.countWrappedKeys();
  scanWrappedKeys: VaultStoreOps['scanWrappedKeys'] = (...a) => this.vaultOps.scanWrappedKeys(...a);
  updateWrappedKey: VaultStoreOps['updateWrappedKey'] = (...a) => this.vaultOps.updateWrappedKey(...a);
  getMasterKeyCheck: VaultStoreOps['getMasterKeyCheck'] = () => this.vaultOps.getMasterKeyCheck();
  insertMasterKeyCheck: VaultStoreOps['insertMasterKeyCheck'] = (...a) =>
    this.vaultOps.insertMasterKeyCheck(...a);
  replaceMasterKeyCheck: VaultStoreOps['replaceMasterKeyCheck'] = (...a) =>
    this.vaultOps.replaceMasterKeyCheck(...a);

  async bulkRevokeKeys(f: BulkRevokeFilter, at: number, reason: string): Promise<RevokedKeyRef[]> {
    const out: RevokedKeyRef[] = [];
    for (const k of this.state.keys.values()) {
      if (
        k.workspaceId !== f.workspaceId ||
        k.status === 'revoked' ||
        (f.keyspaceId !== undefined && k.keyspaceId !== f.keyspaceId) ||
        (f.ownerId !== undefined && k.ownerId !== f.ownerId) ||
        (f.createdBefore !== undefined && !(k.createdAt < f.createdBefore)) ||
        (f.createdAfter !== undefined && !(k.createdAt > f.createdAfter))
      )
        continue;
      Object.assign(k, { status: 'revoked', revokedAt: at, revokeReason: reason, updatedAt: at });
      out.push({ id: k.id, hash: k.hash, keyspaceId: k.keyspaceId, ownerId: k.ownerId });
    }
    return out;
  }
  async recordEvents(events: readonly EventRecord[]): Promise<void> {
    for (const e of events) await this.recordEvent(e);
  }
  async insertIncident(i: IncidentRecord): Promise<void> {
    this.state.incidents.set(i.id, structuredClone(i));
  }
  async getIncident(workspaceId: string, id: string): Promise<IncidentRecord | undefined> {
    const i = this.state.incidents.get(id);
    return i && i.workspaceId === workspaceId ? structuredClone(i) : undefined;
  }
  async updateIncident(
    workspaceId: string,
    id: string,
    patch: { status?: 'open' | 'closed'; notes?: IncidentNote[]; closedAt?: number | null },
  ): Promise<void> {
    const i = this.state.incidents.get(id);
    if (!i || i.workspaceId !== workspaceId) return;
    if (patch.status !== undefined) i.status = patch.status;
    if (patch.notes !== undefined) i.notes = structuredClone(patch.notes);
    if (patch.closedAt !== undefined) i.closedAt = patch.closedAt;
  }
  async usageEventsOfKeys(
    workspaceId: string,
    keyIds: readonly string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<UsageEventRecord[]> {
    const ids = new Set(keyIds);
    return this.state.usage.events
      .filter(
        (e) =>
          e.workspaceId === workspaceId && e.keyId !== null && ids.has(e.keyId) && e.at >= from && e.at < to,
      )
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const lease = this.state.leases.get(name);
    if (lease && lease.expiresAt >= now && lease.holder !== holder) return false;
    this.state.leases.set(name, { holder, expiresAt: now + ttlMs });
    return true;
  }
  async releaseLease(name: string, holder: string): Promise<void> {
    if (this.state.leases.get(name)?.holder === holder) this.state.leases.delete(name);
  }
  async listKeyspacesWithRotation(): Promise<KeyspaceRecord[]> {
    return [...this.state.keyspaces.values()]
      .filter((k) => k.rotation.maxAgeSeconds !== undefined)
      .map((k) => structuredClone(k));
  }
  async listRotationCandidates(
    keyspaceId: string,
    createdBefore: number,
    now: number,
    limit: number,
  ): Promise<KeyRecord[]> {
    return [...this.state.keys.values()]
      .filter(
        (k) =>
          k.keyspaceId === keyspaceId &&
          k.status === 'active' &&
          k.replacedBy === null &&
          k.createdAt <= createdBefore &&
          (k.expiresAt === null || k.expiresAt > now) &&
          !this.state.rotationDue.has(k.id),
      )
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit)
      .map((k) => structuredClone(k));
  }
  async markRotationDue(r: RotationDueRecord): Promise<boolean> {
    if (this.state.rotationDue.has(r.keyId)) return false;
    this.state.rotationDue.set(r.keyId, { ...r });
    return true;
  }
  async getRotationDue(keyId: string): Promise<RotationDueRecord | undefined> {
    const r = this.state.rotationDue.get(keyId);
    return r ? { ...r } : undefined;
  }

  // Usage events and rollups live in memory-usage.ts; these delegate to them.
  private readonly usageOps = memoryUsageOps(
    () => this.state.usage,
    () => this.state.keys,
  );
  insertUsageEvents: UsageStoreOps['insertUsageEvents'] = (...a) => this.usageOps.insertUsageEvents(...a);
  addUsageCounts: UsageStoreOps['addUsageCounts'] = (...a) => this.usageOps.addUsageCounts(...a);
  touchKeysLastUsed: UsageStoreOps['touchKeysLastUsed'] = (...a) => this.usageOps.touchKeysLastUsed(...a);
  usageSeries: UsageStoreOps['usageSeries'] = (...a) => this.usageOps.usageSeries(...a);
  listUsageEvents: UsageStoreOps['listUsageEvents'] = (...a) => this.usageOps.listUsageEvents(...a);
  purgeUsageEvents: UsageStoreOps['purgeUsageEvents'] = (...a) => this.usageOps.purgeUsageEvents(...a);
  purgeUsageCounts: UsageStoreOps['purgeUsageCounts'] = (...a) => this.usageOps.purgeUsageCounts(...a);

  // Webhooks' operations live in memory-webhooks.ts; these delegate to them.
  private readonly webhookOps = memoryWebhookOps(() => ({
    webhooks: this.state.webhooks,
    events: this.state.events,
    keys: this.state.keys,
  }));
  insertWebhook: WebhookStoreOps['insertWebhook'] = (...a) => this.webhookOps.insertWebhook(...a);
  getWebhook: WebhookStoreOps['getWebhook'] = (...a) => this.webhookOps.getWebhook(...a);
  listWebhooks: WebhookStoreOps['listWebhooks'] = (...a) => this.webhookOps.listWebhooks(...a);
  listWorkspaceWebhooks: WebhookStoreOps['listWorkspaceWebhooks'] = (...a) =>
    this.webhookOps.listWorkspaceWebhooks(...a);
  deleteWebhook: WebhookStoreOps['deleteWebhook'] = (...a) => this.webhookOps.deleteWebhook(...a);
  purgeWebhookHistory: WebhookStoreOps['purgeWebhookHistory'] = (...a) =>
    this.webhookOps.purgeWebhookHistory(...a);
  listSealedWebhookSecrets: WebhookStoreOps['listSealedWebhookSecrets'] = (...a) =>
    this.webhookOps.listSealedWebhookSecrets(...a);
  setSealedWebhookSecret: WebhookStoreOps['setSealedWebhookSecret'] = (...a) =>
    this.webhookOps.setSealedWebhookSecret(...a);
  listUndispatchedEvents: WebhookStoreOps['listUndispatchedEvents'] = (...a) =>
    this.webhookOps.listUndispatchedEvents(...a);
  markEventsDispatched: WebhookStoreOps['markEventsDispatched'] = (...a) =>
    this.webhookOps.markEventsDispatched(...a);
  insertDelivery: WebhookStoreOps['insertDelivery'] = (...a) => this.webhookOps.insertDelivery(...a);
  listDueDeliveries: WebhookStoreOps['listDueDeliveries'] = (...a) => this.webhookOps.listDueDeliveries(...a);
  claimDelivery: WebhookStoreOps['claimDelivery'] = (...a) => this.webhookOps.claimDelivery(...a);
  finishDeliveryAttempt: WebhookStoreOps['finishDeliveryAttempt'] = (...a) =>
    this.webhookOps.finishDeliveryAttempt(...a);
  releaseDelivery: WebhookStoreOps['releaseDelivery'] = (...a) => this.webhookOps.releaseDelivery(...a);
  getDelivery: WebhookStoreOps['getDelivery'] = (...a) => this.webhookOps.getDelivery(...a);
  listDeliveries: WebhookStoreOps['listDeliveries'] = (...a) => this.webhookOps.listDeliveries(...a);
  scheduleRedelivery: WebhookStoreOps['scheduleRedelivery'] = (...a) =>
    this.webhookOps.scheduleRedelivery(...a);
  listKeysExpiringBetween: WebhookStoreOps['listKeysExpiringBetween'] = (...a) =>
    this.webhookOps.listKeysExpiringBetween(...a);
  insertExpiryReminder: WebhookStoreOps['insertExpiryReminder'] = (...a) =>
    this.webhookOps.insertExpiryReminder(...a);

  // Alerts' operations live in memory-alerts.ts; these delegate to them.
  private readonly alertOps = memoryAlertOps(() => this.state.alerts);
  insertAlertRule: AlertStoreOps['insertAlertRule'] = (...a) => this.alertOps.insertAlertRule(...a);
  getAlertRule: AlertStoreOps['getAlertRule'] = (...a) => this.alertOps.getAlertRule(...a);
  listAlertRules: AlertStoreOps['listAlertRules'] = (...a) => this.alertOps.listAlertRules(...a);
  listEnabledAlertRules: AlertStoreOps['listEnabledAlertRules'] = (...a) =>
    this.alertOps.listEnabledAlertRules(...a);
  updateAlertRule: AlertStoreOps['updateAlertRule'] = (...a) => this.alertOps.updateAlertRule(...a);
  deleteAlertRule: AlertStoreOps['deleteAlertRule'] = (...a) => this.alertOps.deleteAlertRule(...a);
  insertAlert: AlertStoreOps['insertAlert'] = (...a) => this.alertOps.insertAlert(...a);
  listAlerts: AlertStoreOps['listAlerts'] = (...a) => this.alertOps.listAlerts(...a);
  addAlertCounts: AlertStoreOps['addAlertCounts'] = (...a) => this.alertOps.addAlertCounts(...a);
  sumAlertCounts: AlertStoreOps['sumAlertCounts'] = (...a) => this.alertOps.sumAlertCounts(...a);
  purgeAlertCounts: AlertStoreOps['purgeAlertCounts'] = (...a) => this.alertOps.purgeAlertCounts(...a);
  getAlertBaseline: AlertStoreOps['getAlertBaseline'] = (...a) => this.alertOps.getAlertBaseline(...a);
  saveAlertBaseline: AlertStoreOps['saveAlertBaseline'] = (...a) => this.alertOps.saveAlertBaseline(...a);
  rememberKeyNetworks: AlertStoreOps['rememberKeyNetworks'] = (...a) =>
    this.alertOps.rememberKeyNetworks(...a);
  claimAlertFiring: AlertStoreOps['claimAlertFiring'] = (...a) => this.alertOps.claimAlertFiring(...a);

  /** Test hook: lets tamper tests edit the chain as an attacker with database access would. */
  tamperAudit(workspaceId: string, edit: (entries: AuditRecord[]) => AuditRecord[]): void {
    this.state.audit.set(workspaceId, edit(this.state.audit.get(workspaceId) ?? []));
  }
}
