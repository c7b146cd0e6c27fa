import type { AlertStoreOps } from './alert-store.js';
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
import type { RevocationStoreOps } from './revocation-store.js';
import type { SchedulerStoreOps } from './scheduler-store.js';
import type { UsageStoreOps } from './usage-store.js';
import type { VaultStoreOps } from './vault-store.js';
import type { WebhookStoreOps } from './webhook-store.js';

/** Newest-first pagination: `after` is the cursor position of the last item already seen. */
export interface PageRequest {
  limit: number;
  after?: { createdAt: number; id: string } | undefined;
}

export interface KeyFilter {
  keyspaceId: string;
  ownerId?: string | undefined;
  status?: 'active' | 'disabled' | 'revoked' | 'expired' | undefined;
  /** Needed to tell `expired` from `active`. */
  now: number;
  /** Only keys still working that stop at or before this moment (`--expiring 7d`). */
  expiresBefore?: number | undefined;
  /** Only keys marked due by their keyspace's rotation policy (true) or not (false). */
  rotationDue?: boolean | undefined;
  /** Only keys already replaced by a rotation (true: in their grace period or past it) or not. */
  replaced?: boolean | undefined;
}

export interface AuditFilter {
  action?: string | undefined;
  targetId?: string | undefined;
  beforeSeq?: number | undefined;
  limit: number;
}

export interface KeyPatch {
  name?: string | null;
  ownerId?: string | null;
  meta?: Record<string, unknown>;
  scopes?: string[];
  status?: KeyRecord['status'];
  expiresAt?: number | null;
  ratelimits?: KeyRecord['ratelimits'];
  restrictions?: KeyRecord['restrictions'];
  replacedBy?: string | null;
  revokedAt?: number | null;
  revokeReason?: string | null;
  updatedAt: number;
}

export interface KeyspacePatch {
  name?: string;
  prefix?: string;
  defaults?: KeyspaceRecord['defaults'];
  rotation?: KeyspaceRecord['rotation'];
  updatedAt: number;
}

/**
 * Everything core reads and writes. Each implementation (memory, SQLite, PostgreSQL) passes the
 * one contract suite in `store.contract.ts`. Reads of another workspace's rows are impossible
 * by construction: every lookup by id takes the workspace id too.
 */
export interface StoreOps
  extends VaultStoreOps,
    WebhookStoreOps,
    UsageStoreOps,
    AlertStoreOps,
    SchedulerStoreOps,
    RevocationStoreOps {
  insertWorkspace(ws: WorkspaceRecord): Promise<void>;
  getWorkspaceByName(name: string): Promise<WorkspaceRecord | undefined>;
  countWorkspaces(): Promise<number>;

  insertRootKey(rk: RootKeyRecord): Promise<void>;
  getRootKeyByHash(hash: string): Promise<RootKeyRecord | undefined>;
  getRootKey(workspaceId: string, id: string): Promise<RootKeyRecord | undefined>;
  listRootKeys(workspaceId: string, page: PageRequest): Promise<RootKeyRecord[]>;
  revokeRootKey(workspaceId: string, id: string, at: number): Promise<void>;

  insertKeyspace(ks: KeyspaceRecord): Promise<void>;
  getKeyspace(workspaceId: string, id: string): Promise<KeyspaceRecord | undefined>;
  getKeyspaceByName(workspaceId: string, name: string): Promise<KeyspaceRecord | undefined>;
  listKeyspaces(workspaceId: string, page: PageRequest): Promise<KeyspaceRecord[]>;
  updateKeyspace(workspaceId: string, id: string, patch: KeyspacePatch): Promise<void>;
  deleteKeyspace(workspaceId: string, id: string): Promise<void>;
  countKeys(workspaceId: string, keyspaceId: string): Promise<number>;

  insertKey(key: KeyRecord, credits: Credits | null): Promise<void>;
  getKey(workspaceId: string, id: string): Promise<KeyWithCredits | undefined>;
  /** The verification lookup: one indexed read by hash, across workspaces. */
  getKeyByHash(hash: string): Promise<KeyWithCredits | undefined>;
  listKeys(workspaceId: string, filter: KeyFilter, page: PageRequest): Promise<KeyWithCredits[]>;
  updateKey(workspaceId: string, id: string, patch: KeyPatch): Promise<void>;
  /** Removes the key; its hash no longer resolves. */
  deleteKey(workspaceId: string, id: string): Promise<void>;
  /** Sets (or removes) a lineage's credits; `at` counts as the last refill. */
  setCredits(lineageId: string, credits: Credits | null, at: number): Promise<void>;
  /** Adds `delta` atomically (never below zero); undefined when the lineage has no credits. */
  adjustCredits(lineageId: string, delta: number): Promise<Credits | undefined>;
  /**
   * The verification spend, atomic against any number of concurrent callers on any node:
   * first the refill when the balance was last refilled before `refillPeriodStart` (raising it
   * to the refill amount, never lowering it), then `cost` is taken only if the balance covers
   * it. Cost 0 spends nothing and succeeds while the balance is above zero. Undefined when the
   * lineage has no credits.
   */
  spendCredits(
    lineageId: string,
    cost: number,
    refillPeriodStart: number | null,
  ): Promise<{ ok: boolean; remaining: number } | undefined>;

  /**
   * Reserves the next sequence number of a workspace's audit chain and returns it with the
   * hash of the entry before it. Inside a transaction this also serialises writers of the
   * same chain (a row lock on PostgreSQL, the single writer on SQLite), so the chain cannot fork.
   */
  nextAuditLink(workspaceId: string): Promise<{ seq: number; prevHash: string }>;
  /** Stores the entry and makes it the head of its chain. */
  insertAuditEntry(entry: AuditRecord): Promise<void>;
  listAudit(workspaceId: string, filter: AuditFilter): Promise<AuditRecord[]>;
  /** Entries in ascending `seq` order, from `fromSeq` on, at most `limit`. */
  scanAudit(workspaceId: string, fromSeq: number, limit: number): Promise<AuditRecord[]>;
  auditHead(workspaceId: string): Promise<{ seq: number; hash: string }>;

  /**
   * Runs `fn` once the surrounding transaction has committed (never if it rolls back); at
   * once outside a transaction. For telling in-process listeners (SIEM export, webhook
   * dispatch) about what is now durable.
   */
  afterCommit(fn: () => void): void;

  /** Appends to the event outbox (inside the transaction of the change it reports). */
  recordEvent(event: EventRecord): Promise<void>;
  /** Newest first. */
  listEvents(
    workspaceId: string,
    filter: { type?: string | undefined; limit: number },
  ): Promise<EventRecord[]>;
}

export interface Store extends StoreOps {
  /** Runs `fn` in one transaction: everything it wrote commits together or not at all. */
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Runs after-commit hooks; one failing listener must not fail a committed change or skip the others. */
export function runHooks(hooks: readonly (() => void)[]): void {
  for (const h of hooks) {
    try {
      h();
    } catch {
      // Listeners report their own failures; the change is committed regardless.
    }
  }
}

/** Raised by a store when a write would break a uniqueness rule (a name or hash already taken). */
export class UniqueViolation extends Error {
  constructor(what: string) {
    super(`unique constraint: ${what}`);
    this.name = 'UniqueViolation';
  }
}

/**
 * Raised by a store whose database cannot be reached. Callers answer 503 and retry later;
 * verification never turns it into an answer about the key.
 */
export class StoreUnavailable extends Error {
  constructor(cause: unknown) {
    super('the database is unreachable', { cause });
    this.name = 'StoreUnavailable';
  }
}
