import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SqlBool,
  sql,
  type Transaction,
} from 'kysely';
import type {
  KeyUse,
  RollupTable,
  UsageBucketCount,
  UsageCount,
  UsageEventPage,
  UsageEventRecord,
  UsageSeriesQuery,
} from '../../core/store/index.js';
import type { Database } from './schema.js';
import { chunks, locksRows, num, unique } from './sql-values.js';
import type { UsageEventBlocksTable } from './usage-schema.js';

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
const KEYS_PER_READ = 500;

/**
 * Raw usage events are stored in blocks: one row per key per flush (at most EVENTS_PER_BLOCK
 * events), the events as a JSON array in the row, with the block's first and last time to find
 * it by. A row per event cost the writer four B-tree inserts per verification (the table, the
 * id's index, by key, by time): 3–5 µs of CPU an event with one busy key, 13 µs and more with
 * a thousand (docs/benchmarks.md). Readers decode the blocks they need; listing and incident
 * queries read blocks newest or oldest first and stop once no further block can change the
 * answer.
 */
export const EVENTS_PER_BLOCK = 1_000;

/** One event inside a block's `events`: [id, at, code, ip, origin, resource, latencyUs]. */
type BlockEvent = [string, number, string, string | null, string | null, string | null, number];

/** The events of one workspace, key and keyspace (each possibly null but the workspace), grouped. */
function groupKey(e: UsageEventRecord): string {
  // \u0001 stands for null: no id contains it.
  return `${e.workspaceId}\0${e.keyId ?? '\u0001'}\0${e.keyspaceId ?? '\u0001'}`;
}

function blockRow(events: readonly UsageEventRecord[]): UsageEventBlocksTable {
  const first = events[0] as UsageEventRecord;
  let firstAt = first.at;
  let lastAt = first.at;
  const rows: BlockEvent[] = [];
  for (const e of events) {
    if (e.at < firstAt) firstAt = e.at;
    if (e.at > lastAt) lastAt = e.at;
    rows.push([e.id, e.at, e.code, e.ip, e.origin, e.resource, e.latencyUs]);
  }
  return {
    id: first.id,
    workspace_id: first.workspaceId,
    key_id: first.keyId,
    keyspace_id: first.keyspaceId,
    first_at: firstAt,
    last_at: lastAt,
    count: events.length,
    events: JSON.stringify(rows),
  };
}

/**
 * The rows that store `events`: by workspace, key and keyspace in order of first appearance, each
 * group cut into blocks of EVENTS_PER_BLOCK in the order given. A block's id is its first
 * event's: storing the same events again (a retried batch) violates the primary key.
 */
export function usageEventBlocks(events: readonly UsageEventRecord[]): UsageEventBlocksTable[] {
  const groups = new Map<string, UsageEventRecord[]>();
  for (const e of events) {
    const k = groupKey(e);
    let group = groups.get(k);
    if (group === undefined) {
      group = [];
      groups.set(k, group);
    }
    group.push(e);
  }
  const out: UsageEventBlocksTable[] = [];
  for (const group of groups.values())
    for (const part of chunks(group, EVENTS_PER_BLOCK)) out.push(blockRow(part));
  return out;
}

type BlockHead = Pick<UsageEventBlocksTable, 'workspace_id' | 'key_id' | 'keyspace_id' | 'events'>;

function blockEvents(b: BlockHead): UsageEventRecord[] {
  const rows = JSON.parse(b.events) as BlockEvent[];
  return rows.map(([id, at, code, ip, origin, resource, latencyUs]) => ({
    id,
    at,
    workspaceId: b.workspace_id,
    keyId: b.key_id,
    keyspaceId: b.keyspace_id,
    code,
    ip,
    origin,
    resource,
    latencyUs,
  }));
}

function compareId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest first, ties by id: the incident order. */
function oldestFirst(a: UsageEventRecord, b: UsageEventRecord): number {
  return a.at - b.at || compareId(a.id, b.id);
}

/** Newest first, ties by id descending: the listing order. */
function newestFirst(a: UsageEventRecord, b: UsageEventRecord): number {
  return b.at - a.at || compareId(b.id, a.id);
}

/** Blocks read per query while scanning: a page of events rarely needs more than the first. */
const BLOCKS_PER_READ = 16;
const BLOCKS_PER_STATEMENT = 100;

export async function insertUsageEvents(db: Db, events: readonly UsageEventRecord[]): Promise<void> {
  for (const part of chunks(usageEventBlocks(events), BLOCKS_PER_STATEMENT)) {
    await unique('usage event', () => db.insertInto('usage_event_blocks').values(part).execute());
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
    const ids = sql.join(part.map((u) => u.keyId));
    // PostgreSQL: the rows locked in id order first (see locksRows).
    const rows = locksRows(db)
      ? sql`(select id from keys where id in (${ids}) order by id for update)`
      : sql`(${ids})`;
    await sql`update keys set last_used_at = ${at}
      where id in ${rows}
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

/** Adds `events` to `out`, keeping the `limit` first in `order`. */
function merge(
  out: UsageEventRecord[],
  events: readonly UsageEventRecord[],
  order: (a: UsageEventRecord, b: UsageEventRecord) => number,
  limit: number,
): void {
  for (const e of events) out.push(e);
  out.sort(order);
  if (out.length > limit) out.length = limit;
}

type BlockFilter = (eb: ExpressionBuilder<Database, 'usage_event_blocks'>) => Expression<SqlBool>;

/**
 * Reads the blocks matching `where` by `column`, ascending or descending (ties by id the same
 * way), BLOCKS_PER_READ at a time, handing each to `visit` until it answers false or none are
 * left.
 */
async function scanBlocks(
  db: Db,
  where: BlockFilter,
  column: 'first_at' | 'last_at',
  direction: 'asc' | 'desc',
  visit: (block: UsageEventBlocksTable) => boolean,
): Promise<void> {
  const past = direction === 'asc' ? '>' : '<';
  let seen: { at: number; id: string } | undefined;
  for (;;) {
    const from = seen;
    let q = db.selectFrom('usage_event_blocks').selectAll().where(where);
    if (from)
      q = q.where((eb) =>
        eb.or([eb(column, past, from.at), eb.and([eb(column, '=', from.at), eb('id', past, from.id)])]),
      );
    const blocks = await q
      .orderBy(column, direction)
      .orderBy('id', direction)
      .limit(BLOCKS_PER_READ)
      .execute();
    for (const b of blocks) if (!visit(b)) return;
    const last = blocks.at(-1);
    if (blocks.length < BLOCKS_PER_READ || last === undefined) return;
    seen = { at: num(last[column]), id: last.id };
  }
}

export async function listUsageEvents(
  db: Db,
  workspaceId: string,
  keyId: string,
  page: UsageEventPage,
): Promise<UsageEventRecord[]> {
  const { after, limit } = page;
  const out: UsageEventRecord[] = [];
  // Blocks newest last event first; a block whose last event is older than the page's last
  // event so far cannot change the page, nor can any after it.
  await scanBlocks(
    db,
    (eb) =>
      eb.and([
        eb('key_id', '=', keyId),
        eb('workspace_id', '=', workspaceId),
        ...(after ? [eb('first_at', '<=', after.at)] : []),
      ]),
    'last_at',
    'desc',
    (b) => {
      const bound = out[limit - 1];
      if (bound !== undefined && num(b.last_at) < bound.at) return false;
      const events = blockEvents(b);
      merge(
        out,
        after ? events.filter((e) => e.at < after.at || (e.at === after.at && e.id < after.id)) : events,
        newestFirst,
        limit,
      );
      return true;
    },
  );
  return out;
}

/**
 * Deletes at most `limit` events older than `before`, oldest blocks first: a block wholly older
 * is deleted, a block holding newer events too is written back without its old ones.
 */
export async function purgeUsageEvents(db: Db, before: number, limit: number): Promise<number> {
  // Every block starting before the cutoff holds at least one old event: `limit` blocks hold
  // `limit` old events or every old event there is.
  const blocks = await db
    .selectFrom('usage_event_blocks')
    .select(['id', 'last_at', 'count'])
    .where('first_at', '<', before)
    .orderBy('first_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  let removed = 0;
  const whole: string[] = [];
  for (const b of blocks) {
    const room = limit - removed;
    if (room <= 0) break;
    const count = num(b.count);
    if (num(b.last_at) < before && count <= room) {
      whole.push(b.id);
      removed += count;
      continue;
    }
    removed += await trimBlock(db, b.id, before, room);
  }
  for (const ids of chunks(whole, 500))
    await db.deleteFrom('usage_event_blocks').where('id', 'in', ids).execute();
  return removed;
}

/** Removes up to `room` of a block's events older than `before`, oldest first; resolves to how many. */
async function trimBlock(db: Db, id: string, before: number, room: number): Promise<number> {
  const b = await db.selectFrom('usage_event_blocks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!b) return 0;
  const events = blockEvents(b);
  const old = events
    .filter((e) => e.at < before)
    .sort(oldestFirst)
    .slice(0, room);
  const dropped = new Set(old.map((e) => e.id));
  const kept = events.filter((e) => !dropped.has(e.id));
  if (kept.length === 0) await db.deleteFrom('usage_event_blocks').where('id', '=', id).execute();
  else {
    const row = blockRow(kept);
    await db
      .updateTable('usage_event_blocks')
      .set({ first_at: row.first_at, last_at: row.last_at, count: row.count, events: row.events })
      .where('id', '=', id)
      .execute();
  }
  return old.length;
}

/**
 * The events of `keyIds` in [from, to), oldest first, at most `limit` (the incident record's
 * usage): blocks by their first event, until no further block can change the answer.
 */
export async function usageEventsOfKeys(
  db: Db,
  workspaceId: string,
  keyIds: readonly string[],
  from: number,
  to: number,
  limit: number,
): Promise<UsageEventRecord[]> {
  const out: UsageEventRecord[] = [];
  // Chunks keep the IN list within every engine's parameter limit.
  for (const ids of chunks(keyIds, KEYS_PER_READ)) {
    // Blocks earliest first event first; a block starting after the answer's last event so far
    // cannot change the answer, nor can any after it.
    await scanBlocks(
      db,
      (eb) =>
        eb.and([
          eb('workspace_id', '=', workspaceId),
          eb('key_id', 'in', ids),
          eb('last_at', '>=', from),
          eb('first_at', '<', to),
        ]),
      'first_at',
      'asc',
      (b) => {
        const bound = out[limit - 1];
        if (bound !== undefined && num(b.first_at) > bound.at) return false;
        merge(
          out,
          blockEvents(b).filter((e) => e.at >= from && e.at < to),
          oldestFirst,
          limit,
        );
        return true;
      },
    );
  }
  return out;
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
