import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The server-backed suites run when their server is configured and skip, saying why, when it
 * is not. CI sets KEYWARD_TEST_REQUIRE_SERVICES=1, which turns a missing server into a failure
 * instead of a skip, so those suites can never silently stop running there.
 */
const required = process.env.KEYWARD_TEST_REQUIRE_SERVICES === '1';
const warned = new Set<string>();

function available(name: string, variable: string): string | undefined {
  const url = process.env[variable];
  if (url) return url;
  if (required)
    throw new Error(
      `${name} suites are required (KEYWARD_TEST_REQUIRE_SERVICES=1) but ${variable} is not set`,
    );
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`[keyward tests] ${name} suites SKIPPED: set ${variable} to run them (CI does).`);
  }
  return undefined;
}

/** e.g. postgres://postgres@127.0.0.1:5432/test */
export const postgresUrl = (): string | undefined => available('PostgreSQL', 'KEYWARD_TEST_DATABASE_URL');
/** e.g. redis://127.0.0.1:6379 */
export const redisUrl = (): string | undefined => available('Redis', 'KEYWARD_TEST_REDIS_URL');

export interface TestSchema {
  /** The database URL with `search_path` set to the new schema. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh schema per test (or test file), so concurrent runs never see each other's rows. */
export async function createSchema(baseUrl: string): Promise<TestSchema> {
  const name = `kw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`create schema ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.searchParams.set('options', `-c search_path=${name}`);
  return {
    url: u.toString(),
    name,
    async drop() {
      // Dropping a schema locks every table in it; with other suites doing the same at once,
      // PostgreSQL can run out of lock slots (53200). Retry, then leave the schema behind: it
      // is uniquely named and harmless, and a failed clean-up must not fail the tests.
      for (let attempt = 1; attempt <= 4; attempt++) {
        const c = new pg.Client({ connectionString: baseUrl });
        try {
          await c.connect();
          await c.query(`drop schema if exists ${name} cascade`);
          return;
        } catch (err) {
          if (attempt === 4) console.warn(`[keyward tests] could not drop schema ${name}: ${String(err)}`);
          else await new Promise((r) => setTimeout(r, 200 * attempt));
        } finally {
          await c.end().catch(() => undefined);
        }
      }
    },
  };
}
