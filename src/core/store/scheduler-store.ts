import type { KeyRecord, KeyspaceRecord } from './records.js';

/** A key that reached its keyspace's `rotation.maxAgeSeconds`. */
export interface RotationDueRecord {
  keyId: string;
  workspaceId: string;
  /** `createdAt + maxAgeSeconds`. */
  dueAt: number;
  /** When the key stops working unless it was rotated before: `dueAt + gracePeriodSeconds`. */
  graceEndsAt: number;
}

/** The scheduler's part of the store: leases for leader election, and rotation-due marks. */
export interface SchedulerStoreOps {
  /**
   * Takes or renews the lease `name` for `holder` until `now + ttlMs`, when it is free, expired,
   * or already `holder`'s. True when `holder` holds it afterwards. Atomic: of any number of
   * concurrent callers on any nodes, at most one holds an unexpired lease.
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lease up early (on shutdown) so another node can take over at once. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Every keyspace with a rotation policy, across workspaces (few rows: keyspaces, not keys). */
  listKeyspacesWithRotation(): Promise<KeyspaceRecord[]>;
  /**
   * Active, unreplaced keys of a keyspace created at or before `createdBefore` and not yet
   * marked due — oldest first.
   */
  listRotationCandidates(
    keyspaceId: string,
    createdBefore: number,
    now: number,
    limit: number,
  ): Promise<KeyRecord[]>;
  /** Marks a key due; false when it already was (so each key is processed once). */
  markRotationDue(record: RotationDueRecord): Promise<boolean>;
  getRotationDue(keyId: string): Promise<RotationDueRecord | undefined>;
}
