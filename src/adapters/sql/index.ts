export { migrateToLatest } from './migrations.js';
export type { Database } from './schema.js';
export { SqlStore } from './sql-store.js';
export { openSqliteStore } from './sqlite.js';
