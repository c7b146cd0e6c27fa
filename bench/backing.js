// PostgreSQL and Redis for the scale-out and rate-limit benchmarks: where they are, whether they
// answer, and a fresh PostgreSQL schema per run (dropped at the end) so runs never see each other.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const DATABASE_URL =
  process.env.KEYWARD_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.KEYWARD_BENCH_REDIS_URL || 'redis://127.0.0.1:6379';

/** A URL without its password, for messages. */
export function safeUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Resolves with undefined when PostgreSQL answers, else with the reason. */
export async function probePostgres(url = DATABASE_URL) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${safeUrl(url)} is unreachable (${err instanceof Error ? err.message || err.code : err})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolves with undefined when Redis answers PING, else with the reason. */
export async function probeRedis(url = REDIS_URL) {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The rejection says only "Connection is closed."; the 'error' event has the cause.
  let cause;
  redis.on('error', (err) => {
    cause ??= err.message;
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return `Redis at ${safeUrl(url)} is unreachable (${cause ?? (err instanceof Error ? err.message : err)})`;
  } finally {
    redis.disconnect();
  }
}

/**
 * Creates schema `kw_bench_<random>` and returns the database URL that selects it
 * (`?options=-c search_path=<schema>`) and `drop()`.
 */
export async function createSchema(baseUrl = DATABASE_URL) {
  const name = `kw_bench_${randomBytes(6).toString('hex')}`;
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
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${name} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A vault master key (32 random bytes, base64): required with PostgreSQL, shared by every node. */
export const newMasterKey = () => randomBytes(32).toString('base64');

/**
 * The environment of a Keyward server under load. The per-root-key self-protection limit is off:
 * every benchmark drives one root key far harder than any client would, and the limit would
 * throttle it (docs/benchmarks.md).
 */
export function serverEnv(extra = {}) {
  return { KEYWARD_ROOT_KEY_RATE_LIMIT: '0', ...extra };
}

/** Deletes the Redis keys matching `pattern` (a SCAN, never KEYS), e.g. what a benchmark left. */
export async function deleteRedisKeys(url, pattern) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Redis's own CPU time so far (user + system), in µs, from INFO cpu. */
export async function redisInfoCpu(redis) {
  const text = await redis.info('cpu');
  let total = 0;
  for (const m of text.matchAll(/^used_cpu_(?:user|sys):([\d.]+)/gm)) total += Number(m[1]);
  return total * 1e6;
}
