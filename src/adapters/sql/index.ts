export { migrateToLatest } from './migrations.js';
export { openPostgresStore, type PostgresOptions } from './postgres.js';
export type { Database } from './schema.js';
export { isUnavailable, SqlStore } from './sql-store.js';
export { openSqliteStore } from './sqlite.js';
export {
  openSqliteUsageWriter,
  SqliteUsageWriter,
  type SqliteUsageWriterOptions,
} from './sqlite-usage-writer.js';
