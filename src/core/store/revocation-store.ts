import type { EventRecord } from './records.js';
import type { UsageEventRecord } from './usage-store.js';

export interface BulkRevokeFilter {
  workspaceId: string;
  keyspaceId?: string | undefined;
  ownerId?: string | undefined;
  createdBefore?: number | undefined;
  createdAfter?: number | undefined;
}

/** What a bulk revocation touched: enough to invalidate caches and notify, never key material. */
export interface RevokedKeyRef {
  id: string;
  hash: string;
  keyspaceId: string;
  ownerId: string | null;
}

export interface IncidentNote {
  at: number;
  actor: string;
  text: string;
}

export interface IncidentRecord {
  id: string;
  workspaceId: string;
  reason: string;
  /** Who declared it: a root key id. */
  actor: string;
  keyIds: string[];
  /** The filter the revocation used, as given. */
  filter: Record<string, unknown>;
  status: 'open' | 'closed';
  notes: IncidentNote[];
  createdAt: number;
  closedAt: number | null;
}

export interface RevocationStoreOps {
  /**
   * Revokes every key of the workspace matching the filter that is not revoked yet, in one
   * statement, and returns them. Run inside the transaction that records the incident.
   */
  bulkRevokeKeys(filter: BulkRevokeFilter, at: number, reason: string): Promise<RevokedKeyRef[]>;
  /** Appends many outbox events at once (a bulk revocation's `key.revoked` per key). */
  recordEvents(events: readonly EventRecord[]): Promise<void>;
  insertIncident(incident: IncidentRecord): Promise<void>;
  getIncident(workspaceId: string, id: string): Promise<IncidentRecord | undefined>;
  updateIncident(
    workspaceId: string,
    id: string,
    patch: { status?: 'open' | 'closed'; notes?: IncidentNote[]; closedAt?: number | null },
  ): Promise<void>;
  /** Raw usage events of any of `keyIds` in [from, to), oldest first, at most `limit`. */
  usageEventsOfKeys(
    workspaceId: string,
    keyIds: readonly string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<UsageEventRecord[]>;
}
