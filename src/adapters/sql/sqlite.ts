import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';

/**
 * The settings of every connection to the store's file, the usage writer thread's included. WAL
 * with `synchronous = FULL`, so a write acknowledged to a client survives `kill -9` and power
 * loss alike. Waits for another connection's write lock are bounded: past `busy_timeout` a
 * statement fails with SQLITE_BUSY, which the store reports as StoreUnavailable.
 */
export const SQLITE_PRAGMAS: readonly string[] = [
  'journal_mode = WAL',
  'synchronous = FULL',
  'foreign_keys = ON',
  'busy_timeout = 5000',
];

/** Whether `file` names a database that only this connection sees (no second connection can open it). */
export function isPrivateSqliteFile(file: string): boolean {
  return file === '' || file === ':memory:' || file.startsWith('file::memory:');
}

/**
 * Transactions that take the write lock at `BEGIN`. The usage writer thread writes the same
 * file on a connection of its own; a deferred transaction that read before that thread
 * committed could not write afterwards (SQLITE_BUSY_SNAPSHOT, at once and without waiting),
 * while `BEGIN IMMEDIATE` waits for the lock (up to `busy_timeout`) and then reads current data.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/** Opens (creating if needed) the embedded SQLite store. */
export async function openSqliteStore(file: string): Promise<SqlStore> {
  if (!isPrivateSqliteFile(file)) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new BetterSqlite3(file);
  for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db as Kysely<unknown>);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return SqlStore.open(db, 'sqlite');
}
