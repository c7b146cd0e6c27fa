import type { AlertTables } from './alert-schema.js';
import type { RevocationTables } from './revocation-ops.js';
import type { SchedulerTables } from './scheduler-ops.js';
import type { UsageTables } from './usage-schema.js';
import type { VaultTables } from './vault-schema.js';
import type { WebhookTables } from './webhook-schema.js';

/** Table shapes as Kysely sees them. JSON is kept as text so one schema serves SQLite and PostgreSQL. */
export interface WorkspacesTable {
  id: string;
  name: string;
  created_at: number;
}

export interface RootKeysTable {
  id: string;
  workspace_id: string;
  name: string | null;
  hash: string;
  start: string;
  permissions: string;
  created_at: number;
  revoked_at: number | null;
}

export interface KeyspacesTable {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  defaults: string;
  rotation: string;
  created_at: number;
  updated_at: number;
}

export interface KeysTable {
  id: string;
  workspace_id: string;
  keyspace_id: string;
  hash: string;
  start: string;
  name: string | null;
  owner_id: string | null;
  meta: string;
  scopes: string;
  status: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  ratelimits: string;
  restrictions: string;
  replaces: string | null;
  replaced_by: string | null;
  lineage_id: string;
  revoked_at: number | null;
  revoke_reason: string | null;
}

export interface KeyCreditsTable {
  lineage_id: string;
  remaining: number;
  refill_amount: number | null;
  refill_interval: string | null;
  refilled_at: number | null;
  refill_day: number | null;
  low_threshold: number | null;
}

export interface AuditLogTable {
  workspace_id: string;
  seq: number;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  ip: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  workspace_id: string;
  seq: number;
  hash: string;
}

export interface EventsTable {
  id: string;
  workspace_id: string;
  type: string;
  data: string;
  created_at: number;
  /** Set once the event was turned into webhook deliveries (migration `0006_webhooks`). */
  webhook_dispatched_at: number | null;
}

export interface Database
  extends VaultTables,
    WebhookTables,
    UsageTables,
    AlertTables,
    SchedulerTables,
    RevocationTables {
  workspaces: WorkspacesTable;
  root_keys: RootKeysTable;
  keyspaces: KeyspacesTable;
  keys: KeysTable;
  key_credits: KeyCreditsTable;
  audit_log: AuditLogTable;
  audit_heads: AuditHeadsTable;
  events: EventsTable;
}
