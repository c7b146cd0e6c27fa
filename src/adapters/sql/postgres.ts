import {
  Kysely,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  sql,
} from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';

export interface PostgresOptions {
  /** Connections in the pool of this node. */
  poolSize: number;
  /** Called for errors of pooled connections (e.g. the server restarted); they must not crash the process. */
  onPoolError?: (err: Error) => void;
  /** A query unanswered for this long is on a dead connection, which is then closed (default 5 s). */
  queryTimeoutMs?: number;
}

// Keyward's queries are indexed lookups and paged scans: seconds without an answer mean the
// connection is dead (a partition, a vanished server) rather than the query slow.
const QUERY_TIMEOUT_MS = 5_000;

/**
 * A pooled client whose queries cannot hang forever: on a black-holed connection (no reset, no
 * answer) the socket is destroyed after `timeoutMs`, which fails the query with a connection
 * error (the store's "unavailable") and makes the pool drop the client.
 */
class TimedClient implements PostgresPoolClient {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly timeoutMs: number,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== 'string')
      return (this.client as unknown as PostgresPoolClient).query(sqlOrCursor);
    const timer = setTimeout(() => this.client.connection.stream.destroy(), this.timeoutMs);
    return (
      this.client.query(sqlOrCursor, parameters as unknown[]) as unknown as Promise<PostgresQueryResult<R>>
    ).finally(() => clearTimeout(timer));
  }

  release(destroy?: boolean): void {
    this.client.release(destroy);
  }
}

function timedPool(pool: pg.Pool, timeoutMs: number): PostgresPool {
  // One wrapper per client, so Kysely sees the same connection object each time.
  const wrappers = new WeakMap<pg.PoolClient, TimedClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = new TimedClient(client, timeoutMs);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/**
 * Opens the PostgreSQL store and brings the schema up to date. Kysely's migrator takes a
 * PostgreSQL advisory lock around the migrations, so nodes starting at once migrate one at a time.
 * A schema can be chosen in the URL: `?options=-c%20search_path%3Dmyschema`.
 */
export async function openPostgresStore(url: string, opts: PostgresOptions): Promise<SqlStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'keyward',
  });
  pool.on('error', (err) => opts.onPoolError?.(err));
  // pg emits 'error' on a checked-out client whose connection breaks mid-query (the query
  // itself fails too); without a listener that event would crash the process.
  pool.on('connect', (client) => client.on('error', (err) => opts.onPoolError?.(err)));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: timedPool(pool, opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS) }),
  });
  try {
    // Untimed: a node may wait on another node's migration lock for longer than a query timeout.
    const migrating = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(migrating);
    await migrateToLatest(migrating, rows[0]?.schema ?? 'public');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return SqlStore.open(db, 'postgres');
}
