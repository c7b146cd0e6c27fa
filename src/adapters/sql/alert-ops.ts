import type { Kysely, Transaction } from 'kysely';
import type {
  AlertBaselineRecord,
  AlertCondition,
  AlertCountIncrement,
  AlertFilter,
  AlertRecord,
  AlertRulePatch,
  AlertRuleRecord,
} from '../../core/store/index.js';
import type { AlertBaselinesTable, AlertRulesTable, AlertsTable } from './alert-schema.js';
import type { Database } from './schema.js';
import { num, chunks as sliceRows } from './sql-values.js';

/**
 * Alerts' store operations over one Kysely handle (the database or a transaction). SqlOps
 * delegates to these, so alerts' SQL lives in one place.
 */
type Db = Kysely<Database> | Transaction<Database>;

// PostgreSQL returns bigint columns as strings; SQLite as numbers.

/** Rows per multi-row statement: far below SQLite's bound-parameter limit. */
const CHUNK = 500;
const chunks = <T>(items: T[]): T[][] => sliceRows(items, CHUNK);

function toRule(r: AlertRulesTable): AlertRuleRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    keyspaceId: r.keyspace_id,
    keyId: r.key_id,
    condition: JSON.parse(r.condition) as AlertCondition,
    actions: JSON.parse(r.actions) as AlertRuleRecord['actions'],
    cooldownSeconds: num(r.cooldown_seconds),
    enabled: num(r.enabled) === 1,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function toAlert(r: AlertsTable): AlertRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    ruleId: r.rule_id,
    keyId: r.key_id,
    subject: r.subject,
    at: num(r.at),
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

function toBaseline(r: AlertBaselinesTable): AlertBaselineRecord {
  return {
    ruleId: r.rule_id,
    subject: r.subject,
    bucket: num(r.bucket),
    count: num(r.count),
    baseline: Number(r.baseline),
    windows: num(r.windows),
    version: num(r.version),
    updatedAt: num(r.updated_at),
  };
}

export async function insertAlertRule(db: Db, r: AlertRuleRecord): Promise<void> {
  await db
    .insertInto('alert_rules')
    .values({
      id: r.id,
      workspace_id: r.workspaceId,
      name: r.name,
      keyspace_id: r.keyspaceId,
      key_id: r.keyId,
      condition: JSON.stringify(r.condition),
      actions: JSON.stringify(r.actions),
      cooldown_seconds: r.cooldownSeconds,
      enabled: r.enabled ? 1 : 0,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
    })
    .execute();
}

export async function getAlertRule(db: Db, ws: string, id: string): Promise<AlertRuleRecord | undefined> {
  const r = await db
    .selectFrom('alert_rules')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toRule(r);
}

export async function listAlertRules(
  db: Db,
  ws: string,
  page: { limit: number; after?: { createdAt: number; id: string } | undefined },
): Promise<AlertRuleRecord[]> {
  let q = db.selectFrom('alert_rules').selectAll().where('workspace_id', '=', ws);
  const after = page.after;
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map(toRule);
}

export async function listEnabledAlertRules(db: Db, ws: string): Promise<AlertRuleRecord[]> {
  const rows = await db
    .selectFrom('alert_rules')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('enabled', '=', 1)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toRule);
}

export async function updateAlertRule(db: Db, ws: string, id: string, p: AlertRulePatch): Promise<void> {
  const set: Partial<AlertRulesTable> = { updated_at: p.updatedAt };
  if (p.name !== undefined) set.name = p.name;
  if (p.enabled !== undefined) set.enabled = p.enabled ? 1 : 0;
  if (p.cooldownSeconds !== undefined) set.cooldown_seconds = p.cooldownSeconds;
  await db.updateTable('alert_rules').set(set).where('workspace_id', '=', ws).where('id', '=', id).execute();
}

export async function deleteAlertRule(db: Db, ws: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom('alert_rules')
    .where('workspace_id', '=', ws)
    .where('id', '=', id)
    .executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) return false;
  await db.deleteFrom('alert_counters').where('rule_id', '=', id).execute();
  await db.deleteFrom('alert_baselines').where('rule_id', '=', id).execute();
  await db.deleteFrom('alert_cooldowns').where('rule_id', '=', id).execute();
  return true;
}

export async function insertAlert(db: Db, a: AlertRecord): Promise<void> {
  await db
    .insertInto('alerts')
    .values({
      id: a.id,
      workspace_id: a.workspaceId,
      rule_id: a.ruleId,
      key_id: a.keyId,
      subject: a.subject,
      at: a.at,
      detail: JSON.stringify(a.detail),
    })
    .execute();
}

export async function listAlerts(db: Db, ws: string, f: AlertFilter): Promise<AlertRecord[]> {
  let q = db.selectFrom('alerts').selectAll().where('workspace_id', '=', ws);
  if (f.ruleId !== undefined) q = q.where('rule_id', '=', f.ruleId);
  if (f.keyId !== undefined) q = q.where('key_id', '=', f.keyId);
  const after = f.after;
  if (after)
    q = q.where((eb) =>
      eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]),
    );
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
  return rows.map(toAlert);
}

export async function addAlertCounts(db: Db, increments: AlertCountIncrement[]): Promise<void> {
  // One row per (rule, subject, bucket) per statement (PostgreSQL refuses to upsert a row twice
  // in one statement), in one fixed order: concurrent flushes of several nodes then lock the
  // counter rows in the same order and cannot deadlock.
  const merged = new Map<string, AlertCountIncrement>();
  for (const inc of increments) {
    const k = `${inc.ruleId}\0${inc.subject}\0${inc.bucket}`;
    const row = merged.get(k);
    if (row) row.count += inc.count;
    else merged.set(k, { ...inc });
  }
  const rows = [...merged.values()].sort(
    (a, b) =>
      (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) ||
      (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0) ||
      a.bucket - b.bucket,
  );
  for (const part of chunks(rows)) {
    await db
      .insertInto('alert_counters')
      .values(
        part.map((r) => ({
          rule_id: r.ruleId,
          subject: r.subject,
          bucket: r.bucket,
          count: r.count,
          expires_at: r.expiresAt,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['rule_id', 'subject', 'bucket'])
          .doUpdateSet((eb) => ({ count: eb('alert_counters.count', '+', eb.ref('excluded.count')) })),
      )
      .execute();
  }
}

export async function sumAlertCounts(
  db: Db,
  ruleId: string,
  subjects: string[],
  since: number,
): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const part of chunks(subjects)) {
    const rows = await db
      .selectFrom('alert_counters')
      .select((eb) => ['subject', eb.fn.sum<number | string>('count').as('n')])
      .where('rule_id', '=', ruleId)
      .where('subject', 'in', part)
      .where('bucket', '>=', since)
      .groupBy('subject')
      .execute();
    for (const r of rows) sums.set(r.subject, Number(r.n));
  }
  return sums;
}

export async function purgeAlertCounts(db: Db, now: number): Promise<number> {
  const r = await db.deleteFrom('alert_counters').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function getAlertBaseline(
  db: Db,
  ruleId: string,
  subject: string,
): Promise<AlertBaselineRecord | undefined> {
  const r = await db
    .selectFrom('alert_baselines')
    .selectAll()
    .where('rule_id', '=', ruleId)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return r && toBaseline(r);
}

export async function saveAlertBaseline(
  db: Db,
  b: AlertBaselineRecord,
  expectedVersion: number | null,
): Promise<boolean> {
  const cols = {
    bucket: b.bucket,
    count: b.count,
    baseline: b.baseline,
    windows: b.windows,
    version: b.version,
    updated_at: b.updatedAt,
  };
  if (expectedVersion === null) {
    const r = await db
      .insertInto('alert_baselines')
      .values({ rule_id: b.ruleId, subject: b.subject, ...cols })
      .onConflict((oc) => oc.columns(['rule_id', 'subject']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  // The check-and-set: on PostgreSQL the UPDATE waits for a concurrent writer's commit and then
  // re-checks the version, so of two writers that read the same version exactly one succeeds.
  const r = await db
    .updateTable('alert_baselines')
    .set(cols)
    .where('rule_id', '=', b.ruleId)
    .where('subject', '=', b.subject)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function rememberKeyNetworks(
  db: Db,
  ws: string,
  keyId: string,
  networks: string[],
  at: number,
): Promise<{ known: boolean; added: string[] }> {
  const any = await db
    .selectFrom('key_networks')
    .select('network')
    .where('key_id', '=', keyId)
    .limit(1)
    .executeTakeFirst();
  const added: string[] = [];
  const distinct = [...new Set(networks)].sort();
  for (const part of chunks(distinct)) {
    const rows = await db
      .insertInto('key_networks')
      .values(part.map((network) => ({ key_id: keyId, network, workspace_id: ws, first_seen_at: at })))
      .onConflict((oc) => oc.columns(['key_id', 'network']).doNothing())
      .returning('network')
      .execute();
    for (const r of rows) added.push(r.network);
  }
  return { known: any !== undefined, added };
}

export async function claimAlertFiring(
  db: Db,
  ruleId: string,
  subject: string,
  now: number,
  until: number,
): Promise<boolean> {
  // Insert, or take over a claim whose cool-down has ended; a claim still cooling down is left
  // alone and nothing is returned.
  const rows = await db
    .insertInto('alert_cooldowns')
    .values({ rule_id: ruleId, subject, cooling_until: until })
    .onConflict((oc) =>
      oc
        .columns(['rule_id', 'subject'])
        .doUpdateSet((eb) => ({ cooling_until: eb.ref('excluded.cooling_until') }))
        .where('alert_cooldowns.cooling_until', '<=', now),
    )
    .returning('rule_id')
    .execute();
  return rows.length > 0;
}
