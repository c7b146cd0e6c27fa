import { type Kysely, SqliteAdapter } from 'kysely';
import { UniqueViolation } from '../../core/store/index.js';

/** PostgreSQL returns bigint columns (and sums) as strings, SQLite as numbers: both become numbers. */
export const num = (v: number | string | bigint): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: number | string | bigint | null): number | null => (v === null ? null : num(v));

/** A uniqueness failure: SQLite (better-sqlite3) or PostgreSQL (pg, SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Runs a write, turning a uniqueness failure into the store port's UniqueViolation. */
export async function unique<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation(what);
    throw err;
  }
}

/** `rows` in slices of at most `size`: multi-row statements stay under every engine's parameter limit. */
export function chunks<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * Whether `db` locks rows (PostgreSQL) rather than the whole database (SQLite, one writer at a
 * time). Statements that update many keys take their row locks in id order there, so that two
 * transactions doing so (a bulk revocation and a usage flush touching `last_used_at`) never wait
 * on each other in a cycle: an update's own scan visits rows in physical order, which the row
 * versions written since reshuffle, and PostgreSQL breaks such a deadlock by failing one of the
 * transactions (src/adapters/sql/lock-order.test.ts).
 */
export function locksRows(db: Pick<Kysely<unknown>, 'getExecutor'>): boolean {
  return !isSqlite(db);
}

/** Whether `db` is SQLite (else PostgreSQL), for the few statements the two spell differently. */
export function isSqlite(db: Pick<Kysely<unknown>, 'getExecutor'>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}
