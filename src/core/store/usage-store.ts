/**
 * The usage part of the store: raw verification events, and per-key counts rolled up by minute
 * and by hour. Times are epoch milliseconds; a bucket is named by its start (UTC).
 */

/** One stored verification event. It names the key by id; it never holds key material. */
export interface UsageEventRecord {
  /** Unique and, within one node and one millisecond, increasing (cursor tie-breaker). */
  id: string;
  at: number;
  workspaceId: string;
  /** Null when the presented key matched nothing. */
  keyId: string | null;
  keyspaceId: string | null;
  code: string;
  ip: string | null;
  origin: string | null;
  resource: string | null;
  latencyUs: number;
}

/** The rollup tables: `minute` rows serve minute series, `hour` rows serve hour and day series. */
export type RollupTable = 'minute' | 'hour';

export type UsageGranularity = 'minute' | 'hour' | 'day';

/** How many verifications of one key ended with one code in one bucket. */
export interface UsageCount {
  workspaceId: string;
  keyId: string;
  keyspaceId: string;
  code: string;
  /** Start of the bucket: a multiple of 60 000 (minute) or 3 600 000 (hour). */
  bucket: number;
  count: number;
}

/** A key's most recent use in a batch. */
export interface KeyUse {
  keyId: string;
  at: number;
}

export interface UsageSeriesQuery {
  granularity: UsageGranularity;
  /** Aligned to the granularity by the caller; buckets starting in [from, to) are summed. */
  from: number;
  to: number;
}

/** Summed count of one code in one bucket. Buckets without counts are absent. */
export interface UsageBucketCount {
  t: number;
  code: string;
  count: number;
}

export interface UsageEventPage {
  limit: number;
  /** The position of the last event already seen (newest-first order). */
  after?: { at: number; id: string } | undefined;
}

export interface UsageStoreOps {
  /**
   * Stores raw events. Throws UniqueViolation when they are already stored: the same events
   * again, as a retried batch sends them (the SQL stores recognize a key's first event of the
   * call; the memory store any id).
   */
  insertUsageEvents(events: readonly UsageEventRecord[]): Promise<void>;
  /**
   * Adds counts to a rollup table: a missing row is created, an existing one grows by `count`.
   * Each (keyId, bucket, code) appears at most once in `counts`.
   */
  addUsageCounts(table: RollupTable, counts: readonly UsageCount[]): Promise<void>;
  /**
   * Raises each key's `lastUsedAt` to `at`, never lowering it. Keys that no longer exist are
   * skipped. Key ids come from the verifier's own records, so no workspace is needed.
   */
  touchKeysLastUsed(uses: readonly KeyUse[]): Promise<void>;
  /** One key's counts per bucket and code, ascending by bucket. */
  usageSeries(workspaceId: string, keyId: string, query: UsageSeriesQuery): Promise<UsageBucketCount[]>;
  /** One key's raw events, newest first (`at` desc, then `id` desc). */
  listUsageEvents(workspaceId: string, keyId: string, page: UsageEventPage): Promise<UsageEventRecord[]>;
  /** Deletes at most `limit` raw events older than `before`; resolves to how many it deleted. */
  purgeUsageEvents(before: number, limit: number): Promise<number>;
  /** Deletes at most `limit` rollup rows whose bucket starts before `before`; resolves to how many. */
  purgeUsageCounts(table: RollupTable, before: number, limit: number): Promise<number>;
}
