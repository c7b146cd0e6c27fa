/** The usage tables as Kysely sees them (see migration `0005_usage`). */
export interface UsageEventsTable {
  id: string;
  workspace_id: string;
  key_id: string | null;
  keyspace_id: string | null;
  at: number;
  code: string;
  ip: string | null;
  origin: string | null;
  resource: string | null;
  latency_us: number;
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
  usage_events: UsageEventsTable;
  /** Minute buckets, kept as long as raw events. */
  usage_minutes: UsageCountsTable;
  /** Hour buckets (hour and day series), kept longer. */
  usage_hours: UsageCountsTable;
}
