import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { isSqlite } from './sql-values.js';

/**
 * One migration set for SQLite and PostgreSQL: only portable types (text, bigint, integer),
 * JSON kept as text, times as epoch milliseconds in bigint columns.
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('workspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('root_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
        .addColumn('name', 'text')
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('start', 'text', (c) => c.notNull())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('root_keys_by_workspace')
        .on('root_keys')
        .columns(['workspace_id', 'created_at', 'id'])
        .execute();

      await db.schema
        .createTable('keyspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('defaults', 'text', (c) => c.notNull())
        .addColumn('rotation', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('keyspaces_name_unique', ['workspace_id', 'name'])
        .execute();

      await db.schema
        .createTable('keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
        .addColumn('keyspace_id', 'text', (c) => c.notNull().references('keyspaces.id'))
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('start', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('owner_id', 'text')
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('ratelimits', 'text', (c) => c.notNull())
        .addColumn('restrictions', 'text', (c) => c.notNull())
        .addColumn('replaces', 'text')
        .addColumn('replaced_by', 'text')
        .addColumn('lineage_id', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoke_reason', 'text')
        .execute();
      await db.schema
        .createIndex('keys_by_keyspace')
        .on('keys')
        .columns(['keyspace_id', 'created_at', 'id'])
        .execute();
      await db.schema.createIndex('keys_by_owner').on('keys').columns(['keyspace_id', 'owner_id']).execute();
      await db.schema.createIndex('keys_by_lineage').on('keys').column('lineage_id').execute();

      await db.schema
        .createTable('key_credits')
        .addColumn('lineage_id', 'text', (c) => c.primaryKey())
        .addColumn('remaining', 'bigint', (c) => c.notNull())
        .addColumn('refill_amount', 'bigint')
        .addColumn('refill_interval', 'text')
        .addColumn('refilled_at', 'bigint')
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['workspace_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_by_action')
        .on('audit_log')
        .columns(['workspace_id', 'action', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_by_target')
        .on('audit_log')
        .columns(['workspace_id', 'target_id', 'seq'])
        .execute();

      await db.schema
        .createTable('audit_heads')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

migrations['0002_events'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('events_by_workspace')
      .on('events')
      .columns(['workspace_id', 'created_at'])
      .execute();
  },
};

// The vault: secrets (one row per path), their sealed versions, and the master-key check value.
migrations['0003_vault'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('secrets')
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('meta', 'text', (c) => c.notNull())
      .addColumn('rotation', 'text')
      .addColumn('latest_version', 'bigint', (c) => c.notNull())
      .addColumn('current_version', 'bigint')
      .addColumn('pending_version', 'bigint')
      .addColumn('previous_version', 'bigint')
      .addColumn('current_since', 'bigint')
      .addColumn('rotation_due_at', 'bigint')
      .addColumn('rotation_notified_version', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_at', 'bigint')
      .addPrimaryKeyConstraint('secrets_pk', ['workspace_id', 'path'])
      .execute();
    await db.schema
      .createIndex('secrets_by_created')
      .on('secrets')
      .columns(['workspace_id', 'created_at', 'path'])
      .execute();
    await db.schema.createIndex('secrets_by_rotation_due').on('secrets').column('rotation_due_at').execute();

    await db.schema
      .createTable('secret_versions')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('ciphertext', 'text')
      .addColumn('wrapped_key', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('destroyed_at', 'bigint')
      .addPrimaryKeyConstraint('secret_versions_pk', ['workspace_id', 'path', 'version'])
      .execute();

    await db.schema
      .createTable('vault_master_key')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('check_value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('rotated_at', 'bigint')
      .execute();
  },
};

migrations['0004_credit_refill_day_and_threshold'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('key_credits').addColumn('refill_day', 'integer').execute();
    await db.schema.alterTable('key_credits').addColumn('low_threshold', 'bigint').execute();
  },
};

// Usage: raw verification events (purged after KEYWARD_USAGE_RETENTION_DAYS) and per-key counts
// by minute and by hour, upserted by the usage recorder's flush. No foreign keys: usage outlives
// deleted keys until retention removes it.
migrations['0005_usage'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('usage_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text')
      .addColumn('keyspace_id', 'text')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('origin', 'text')
      .addColumn('resource', 'text')
      .addColumn('latency_us', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('usage_events_by_key')
      .on('usage_events')
      .columns(['key_id', 'at', 'id'])
      .execute();
    await db.schema.createIndex('usage_events_by_at').on('usage_events').column('at').execute();

    for (const table of ['usage_minutes', 'usage_hours']) {
      await db.schema
        .createTable(table)
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('keyspace_id', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['key_id', 'bucket', 'code'])
        .execute();
      await db.schema.createIndex(`${table}_by_bucket`).on(table).column('bucket').execute();
    }
  },
};

// Webhooks: endpoints, deliveries (one per event and endpoint, leased by the node sending it),
// the outbox's "dispatched to webhooks" mark, and the `key.expiring` reminders already recorded.
migrations['0006_webhooks'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('webhooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('webhooks_by_workspace')
      .on('webhooks')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id'))
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('last_attempt_at', 'bigint')
      .addColumn('last_response_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('delivered_at', 'bigint')
      .addColumn('leased_by', 'text')
      .addColumn('leased_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      // One delivery per (event, endpoint), however many nodes fan the event out.
      .addUniqueConstraint('webhook_deliveries_event_endpoint', ['event_id', 'webhook_id'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_by_webhook')
      .on('webhook_deliveries')
      .columns(['webhook_id', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .column('next_attempt_at')
      .where(sql<boolean>`status = 'pending'`)
      .execute();

    // Events recorded before webhooks existed have nobody to go to: they count as dispatched.
    await db.schema.alterTable('events').addColumn('webhook_dispatched_at', 'bigint').execute();
    await sql`update events set webhook_dispatched_at = created_at`.execute(db);
    await db.schema
      .createIndex('events_undispatched')
      .on('events')
      .column('created_at')
      .where(sql<boolean>`webhook_dispatched_at is null`)
      .execute();

    await db.schema
      .createTable('key_expiry_reminders')
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('reminder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('key_expiry_reminders_pk', ['key_id', 'reminder', 'expires_at'])
      .execute();
    await db.schema.createIndex('keys_by_expiry').on('keys').column('expires_at').execute();
  },
};

// Alerts: rules, fired alerts, and the evaluation state every node shares — window counters
// per (rule, subject, step), spike baselines per (rule, key), the networks each key was seen
// from, and cool-down claims that let exactly one node fire.
migrations['0007_alerts'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('alert_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('keyspace_id', 'text')
      .addColumn('key_id', 'text')
      .addColumn('condition', 'text', (c) => c.notNull())
      .addColumn('actions', 'text', (c) => c.notNull())
      .addColumn('cooldown_seconds', 'bigint', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('alert_rules_by_workspace')
      .on('alert_rules')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('alerts_by_workspace')
      .on('alerts')
      .columns(['workspace_id', 'at', 'id'])
      .execute();
    await db.schema
      .createIndex('alerts_by_rule')
      .on('alerts')
      .columns(['workspace_id', 'rule_id', 'at', 'id'])
      .execute();
    await db.schema
      .createIndex('alerts_by_key')
      .on('alerts')
      .columns(['workspace_id', 'key_id', 'at', 'id'])
      .execute();

    await db.schema
      .createTable('alert_counters')
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_counters_pk', ['rule_id', 'subject', 'bucket'])
      .execute();
    await db.schema
      .createIndex('alert_counters_by_expiry')
      .on('alert_counters')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('alert_baselines')
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addColumn('baseline', 'double precision', (c) => c.notNull())
      .addColumn('windows', 'bigint', (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_baselines_pk', ['rule_id', 'subject'])
      .execute();

    await db.schema
      .createTable('key_networks')
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('network', 'text', (c) => c.notNull())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('key_networks_pk', ['key_id', 'network'])
      .execute();

    await db.schema
      .createTable('alert_cooldowns')
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('cooling_until', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_cooldowns_pk', ['rule_id', 'subject'])
      .execute();
  },
};

migrations['0008_scheduler'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('key_rotation_due')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('grace_ends_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

migrations['0009_incidents'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('key_ids', 'text', (c) => c.notNull())
      .addColumn('filter', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('notes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('closed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('keys_by_owner_ws')
      .on('keys')
      .columns(['workspace_id', 'owner_id'])
      .execute();
  },
};

// The endpoint of one secret's `rotation.webhook` is a webhook row bound to that secret's path.
// (Signing secrets written before this release are still plaintext in `secret`: the server
// seals them under the master key at start — a migration cannot, it has no key.)
migrations['0010_secret_rotation_webhooks'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('webhooks').addColumn('secret_path', 'text').execute();
  },
};

// Retention of the webhook history (KEYWARD_WEBHOOK_RETENTION_DAYS): what the hourly purge
// looks for — finished deliveries by their last change, dispatched events and passed reminders
// by age — without scanning the tables.
migrations['0012_webhook_retention'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('webhook_deliveries_finished')
      .on('webhook_deliveries')
      .column('updated_at')
      .where(sql<boolean>`status <> 'pending'`)
      .execute();
    await db.schema
      .createIndex('events_dispatched')
      .on('events')
      .column('created_at')
      .where(sql<boolean>`webhook_dispatched_at is not null`)
      .execute();
    await db.schema
      .createIndex('key_expiry_reminders_by_expiry')
      .on('key_expiry_reminders')
      .column('expires_at')
      .execute();
  },
};

// Raw usage events in blocks, one row per key per flush instead of one per event (usage-ops.ts):
// four B-tree inserts per verification were most of what recording cost. Events stored before
// become one block each.
migrations['0013_usage_event_blocks'] = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('usage_event_blocks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text')
      .addColumn('keyspace_id', 'text')
      .addColumn('first_at', 'bigint', (c) => c.notNull())
      .addColumn('last_at', 'bigint', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .execute();
    // A key's blocks newest first (listing) or by time range (incidents); the oldest (purge).
    await db.schema
      .createIndex('usage_event_blocks_by_key')
      .on('usage_event_blocks')
      .columns(['key_id', 'last_at'])
      .execute();
    await db.schema
      .createIndex('usage_event_blocks_by_first_at')
      .on('usage_event_blocks')
      .column('first_at')
      .execute();
    const events = isSqlite(db)
      ? sql`json_array(json_array(id, at, code, ip, origin, resource, latency_us))`
      : sql`cast(json_build_array(json_build_array(id, at, code, ip, origin, resource, latency_us)) as text)`;
    await sql`insert into usage_event_blocks
      (id, workspace_id, key_id, keyspace_id, first_at, last_at, count, events)
      select id, workspace_id, key_id, keyspace_id, at, at, 1, ${events} from usage_events`.execute(db);
    await db.schema.dropTable('usage_events').execute();
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

function isConcurrentSchemaDrop(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '3F000';
}

/** Brings the schema up to date; throws with the failing migration's name if one fails. */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: name it, so
  // a database holding several Keyward schemas (test runs, tenants) migrates each on its own.
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'keyward_migrations',
    migrationLockTableName: 'keyward_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let outcome = await migrator.migrateToLatest();
  // Kysely's migrator lists the tables of every schema it may use; on PostgreSQL that scan
  // fails with 3F000 when another schema is dropped at the same moment (another tenant or test
  // run). Nothing was migrated then, so trying again is safe.
  for (let attempt = 1; attempt <= 5 && isConcurrentSchemaDrop(outcome.error); attempt++) {
    await new Promise((r) => setTimeout(r, 50 * attempt));
    outcome = await migrator.migrateToLatest();
  }
  const { error, results } = outcome;
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
