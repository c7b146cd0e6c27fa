import { type Kysely, SqliteAdapter, sql, type Transaction } from 'kysely';
import {
  type KeyUse,
  type RollupTable,
  UniqueViolation,
  type UsageBucketCount,
  type UsageCount,
  type UsageEventPage,
  type UsageEventRecord,
  type UsageSeriesQuery,
} from '../../core/store/index.js';
import type { Database } from './schema.js';
import { chunks, isUniqueViolation as isUnique, num } from './sql-values.js';
import type { UsageEventsTable } from './usage-schema.js';

/**
 * The usage store operations over one Kysely handle (the database or a transaction). SqlOps
 * delegates to these. Everything is plain SQL both engines run: multi-row inserts, upserts
 * with `on conflict … do update`, `case` expressions, row-value `in`.
 */
type Db = Kysely<Database> | Transaction<Database>;

const TABLES = { minute: 'usage_minutes', hour: 'usage_hours' } as const;
const DAY_MS = 86_400_000;
// Rows per statement: far below SQLite's 32 766 and PostgreSQL's 65 535 bound parameters.
const ROWS_PER_STATEMENT = 500;
const KEYS_PER_UPDATE = 200;

function toEvent(r: UsageEventsTable): UsageEventRecord {
  return {
    id: r.id,
    at: num(r.at),
    workspaceId: r.workspace_id,
    keyId: r.key_id,
    keyspaceId: r.keyspace_id,
    code: r.code,
    ip: r.ip,
    origin: r.origin,
    resource: r.resource,
    latencyUs: num(r.latency_us),
  };
}

/** An event as a JSON array, in the column order of EVENT_COLUMNS. */
function eventRow(e: UsageEventRecord): unknown[] {
  return [e.id, e.workspaceId, e.keyId, e.keyspaceId, e.at, e.code, e.ip, e.origin, e.resource, e.latencyUs];
}

const EVENTS_PER_STATEMENT = 5_000;

export async function insertUsageEvents(db: Db, events: readonly UsageEventRecord[]): Promise<void> {
  // The hot write: one statement per batch with ONE parameter, the rows as a JSON array that the
  // database unpacks (SQLite json_each, PostgreSQL json_array_elements; both read elements with
  // `->>`). Compared with a multi-row VALUES list, nothing is built per value in JavaScript and
  // the statement SQLite prepares is a few hundred bytes instead of thousands of placeholders.
  const rows = db.getExecutor().adapter instanceof SqliteAdapter ? 'json_each' : 'json_array_elements';
  for (const part of chunks(events, EVENTS_PER_STATEMENT)) {
    const json = JSON.stringify(part.map(eventRow));
    const source =
      rows === 'json_each' ? sql`json_each(${json})` : sql`json_array_elements(cast(${json} as json))`;
    try {
      await sql`insert into usage_events
        (id, workspace_id, key_id, keyspace_id, at, code, ip, origin, resource, latency_us)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3, cast(value ->> 4 as bigint),
          value ->> 5, value ->> 6, value ->> 7, value ->> 8, cast(value ->> 9 as integer)
        from ${source}`.execute(db);
    } catch (err) {
      if (isUnique(err)) throw new UniqueViolation('usage event');
      throw err;
    }
  }
}

export async function addUsageCounts(
  db: Db,
  table: RollupTable,
  counts: readonly UsageCount[],
): Promise<void> {
  const name = TABLES[table];
  for (const part of chunks(counts, ROWS_PER_STATEMENT)) {
    const rows = part.map((c) => ({
      workspace_id: c.workspaceId,
      key_id: c.keyId,
      keyspace_id: c.keyspaceId,
      bucket: c.bucket,
      code: c.code,
      count: c.count,
    }));
    // Both rollup tables have one shape; the name decides which one is written.
    await db
      .insertInto(name as 'usage_minutes')
      .values(rows)
      .onConflict((oc) =>
        oc
          .columns(['key_id', 'bucket', 'code'])
          .doUpdateSet({ count: sql<number>`${sql.ref(`${name}.count`)} + excluded.count` }),
      )
      .execute();
  }
}

export async function touchKeysLastUsed(db: Db, uses: readonly KeyUse[]): Promise<void> {
  for (const part of chunks(uses, KEYS_PER_UPDATE)) {
    // One statement per chunk instead of one per key: `case id when … then … end` is each
    // key's new time; the condition keeps a later time written by another node.
    const at = sql`(case id ${sql.join(
      part.map((u) => sql`when ${u.keyId} then cast(${u.at} as bigint)`),
      sql` `,
    )} end)`;
    await sql`update keys set last_used_at = ${at}
      where id in (${sql.join(part.map((u) => u.keyId))})
      and (last_used_at is null or last_used_at < ${at})`.execute(db);
  }
}

export async function usageSeries(
  db: Db,
  workspaceId: string,
  keyId: string,
  q: UsageSeriesQuery,
): Promise<UsageBucketCount[]> {
  const table = q.granularity === 'minute' ? TABLES.minute : TABLES.hour;
  // Days are summed from hour rows; a UTC day is a whole number of hours.
  const t = q.granularity === 'day' ? sql`(bucket - (bucket % ${sql.lit(DAY_MS)}))` : sql`bucket`;
  const result = await sql<{ t: number | string; code: string; n: number | string }>`
    select ${t} as t, code, sum(count) as n from ${sql.table(table)}
    where workspace_id = ${workspaceId} and key_id = ${keyId} and bucket >= ${q.from} and bucket < ${q.to}
    group by 1, 2`.execute(db);
  return result.rows
    .map((r) => ({ t: num(r.t), code: r.code, count: num(r.n) }))
    .sort((a, b) => a.t - b.t || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

export async function listUsageEvents(
  db: Db,
  workspaceId: string,
  keyId: string,
  page: UsageEventPage,
): Promise<UsageEventRecord[]> {
  let q = db
    .selectFrom('usage_events')
    .selectAll()
    .where('key_id', '=', keyId)
    .where('workspace_id', '=', workspaceId);
  const after = page.after;
  if (after)
    q = q.where((eb) =>
      eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]),
    );
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map(toEvent);
}

export async function purgeUsageEvents(db: Db, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('usage_events')
    .where('id', 'in', (eb) =>
      eb.selectFrom('usage_events').select('id').where('at', '<', before).limit(limit),
    )
    .executeTakeFirst();
  return num(r.numDeletedRows);
}

export async function purgeUsageCounts(
  db: Db,
  table: RollupTable,
  before: number,
  limit: number,
): Promise<number> {
  const name = sql.table(TABLES[table]);
  const r = await sql`delete from ${name} where (key_id, bucket, code) in
    (select key_id, bucket, code from ${name} where bucket < ${before} limit ${limit})`.execute(db);
  return num(r.numAffectedRows ?? 0n);
}
