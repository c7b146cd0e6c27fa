import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import type { UsageEventRecord } from '../../core/store/index.js';
import { usageEventRecord as event } from '../../core/store/testing/usage-event-record.js';
import { openPostgresStore } from './postgres.js';
import type { SqlStore } from './sql-store.js';
import { openSqliteStore } from './sqlite.js';

const WS = 'ws_aaaaaaaaaaaa';
const KEY = 'key_111111111111';
const T0 = Date.UTC(2026, 0, 15);

const BEFORE = [
  event('old1', T0 + 1),
  event('old2', T0 + 2, { code: 'REVOKED', ip: null, origin: 'https://app.example.com', resource: null }),
  event('old3', T0 + 3, { keyId: null, keyspaceId: null, code: 'NOT_FOUND' }),
];

/**
 * Puts a store's database back as it was before migration `0013_usage_event_blocks` — the
 * `usage_events` table of `0005_usage` holding `BEFORE`, and the migration not yet run — so that
 * opening the store again runs it on those rows.
 */
const UNDO_0013 = [
  'drop table usage_event_blocks',
  `create table usage_events (id text primary key, workspace_id text not null, key_id text,
    keyspace_id text, at bigint not null, code text not null, ip text, origin text, resource text,
    latency_us integer not null)`,
  'create index usage_events_by_key on usage_events (key_id, at, id)',
  'create index usage_events_by_at on usage_events (at)',
  "delete from keyward_migrations where name = '0013_usage_event_blocks'",
];
const INSERT_OLD = `insert into usage_events
  (id, workspace_id, key_id, keyspace_id, at, code, ip, origin, resource, latency_us)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
const oldRow = (e: UsageEventRecord) => [
  e.id,
  e.workspaceId,
  e.keyId,
  e.keyspaceId,
  e.at,
  e.code,
  e.ip,
  e.origin,
  e.resource,
  e.latencyUs,
];

/** The upgrade, the same on every engine: `run` executes SQL on the database between two opens. */
function describeUpgrade(
  name: string,
  open: () => Promise<SqlStore>,
  run: (statements: readonly string[], inserts: readonly unknown[][]) => Promise<void>,
  tables: () => Promise<string[]>,
): void {
  describe(`migration 0013_usage_event_blocks: ${name}`, () => {
    it('turns every event stored one row each into a block the readers find, and drops the old table', async () => {
      await (await open()).close();
      await run(UNDO_0013, BEFORE.map(oldRow));

      const store = await open();
      try {
        expect(await tables()).not.toContain('usage_events');
        expect(await store.listUsageEvents(WS, KEY, { limit: 10 })).toEqual([BEFORE[1], BEFORE[0]]);
        expect(await store.usageEventsOfKeys(WS, [KEY], T0, T0 + 10, 10)).toEqual([BEFORE[0], BEFORE[1]]);
        // New events go next to the old ones, and a purge finds both.
        await store.insertUsageEvents([event('new1', T0 + 5)]);
        expect((await store.listUsageEvents(WS, KEY, { limit: 10 })).map((e) => e.id)).toEqual([
          'new1',
          'old2',
          'old1',
        ]);
        expect(await store.purgeUsageEvents(T0 + 4, 100)).toBe(3);
        expect((await store.listUsageEvents(WS, KEY, { limit: 10 })).map((e) => e.id)).toEqual(['new1']);
      } finally {
        await store.close();
      }
    });
  });
}

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describeUpgrade(
  'SQLite',
  () => {
    dir ||= mkdtempSync(join(tmpdir(), 'keyward-0013-'));
    return openSqliteStore(join(dir, 'keyward.db'));
  },
  async (statements, inserts) => {
    const db = new BetterSqlite3(join(dir, 'keyward.db'));
    try {
      for (const s of statements) db.exec(s);
      const insert = db.prepare(INSERT_OLD.replace(/\$\d+/g, '?'));
      for (const row of inserts) insert.run(...row);
    } finally {
      db.close();
    }
  },
  async () => {
    const db = new BetterSqlite3(join(dir, 'keyward.db'), { readonly: true });
    try {
      return db
        .prepare("select name from sqlite_master where type = 'table'")
        .all()
        .map((r) => (r as { name: string }).name);
    } finally {
      db.close();
    }
  },
);

const url = postgresUrl();
describe.skipIf(!url)('PostgreSQL', () => {
  let schema: TestSchema | undefined;
  afterEach(async () => {
    await schema?.drop();
    schema = undefined;
  });
  const client = async <T>(f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: schema?.url });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  describeUpgrade(
    'PostgreSQL',
    async () => {
      schema ??= await createSchema(url ?? '');
      return openPostgresStore(schema.url, { poolSize: 2 });
    },
    (statements, inserts) =>
      client(async (c) => {
        for (const s of statements) await c.query(s);
        for (const row of inserts) await c.query(INSERT_OLD, row);
      }),
    () =>
      client(async (c) => {
        const r = await c.query<{ table_name: string }>(
          'select table_name from information_schema.tables where table_schema = current_schema()',
        );
        return r.rows.map((row) => row.table_name);
      }),
  );
});
