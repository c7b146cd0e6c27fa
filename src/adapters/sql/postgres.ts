import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';

export interface PostgresOptions {
  /** Connections in the pool of this node. */
  poolSize: number;
  /** Called for errors of idle pooled connections (e.g. the server restarted); they must not crash the process. */
  onPoolError?: (err: Error) => void;
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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    await migrateToLatest(db as Kysely<unknown>, rows[0]?.schema ?? 'public');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return SqlStore.open(db, 'postgres');
}
