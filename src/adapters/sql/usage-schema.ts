// The usage tables as Kysely sees them (see migrations `0005_usage` and `0013_usage_event_blocks`).

/**
 * Raw usage events, in blocks of one key's events of one flush (see usage-ops.ts and migration
 * `0013_usage_event_blocks`): `events` is a JSON array of
 * `[id, at, code, ip, origin, resource, latencyUs]`, and `id` the block's first event's id.
 */
export interface UsageEventBlocksTable {
  id: string;
  workspace_id: string;
  key_id: string | null;
  keyspace_id: string | null;
  /** The block's earliest and latest event times. */
  first_at: number;
  last_at: number;
  count: number;
  events: string;
}

/** One rollup row: how many verifications of a key ended with `code` in the bucket starting at `bucket`. */
export interface UsageCountsTable {
  workspace_id: string;
  key_id: string;
  keyspace_id: string;
  bucket: number;
  code: string;
  count: number;
}

export interface UsageTables {
  usage_event_blocks: UsageEventBlocksTable;
  /** Minute buckets, kept as long as raw events. */
  usage_minutes: UsageCountsTable;
  /** Hour buckets (hour and day series), kept longer. */
  usage_hours: UsageCountsTable;
}
