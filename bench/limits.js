// Issue 4: HTTP verification of keys with rate limits, against a key without limits on the same
// server, same run. One server decides limits in-process (no KEYWARD_REDIS_URL), the other on
// Redis (KEYWARD_REDIS_URL set: one Lua script per decision). Limits are far above what the run
// can spend, so nothing is refused and every answer is VALID (checked on every response).
import { join } from 'node:path';
import { deleteRedisKeys, REDIS_URL, serverEnv } from './backing.js';
import { loadWarnings, measureAlternating, startServer } from './http-load.js';

const HIGH = 1_000_000_000;
/** One limit; three limits: a second, a minute and an hour, as an API plan might set them. */
export const LIMITS = {
  one: [{ name: 'per_second', limit: HIGH, windowMs: 1_000 }],
  three: [
    { name: 'per_second', limit: HIGH, windowMs: 1_000 },
    { name: 'per_minute', limit: HIGH, windowMs: 60_000 },
    { name: 'per_hour', limit: HIGH, windowMs: 3_600_000 },
  ],
};

function target(server, name) {
  return {
    server,
    url: `${server.url}/v1/keys/verify`,
    method: 'POST',
    headers: { authorization: `Bearer ${server.rootKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: server.keys[name].key }),
    expect: '"valid":true',
  };
}

/**
 * @param {{ load: object, redis: boolean, profileDir?: string, log(line: string): void }} opts
 *   `redis` false: in-process limits only.
 */
export async function runLimitsBench({ load, redis, profileDir, log }) {
  const keys = { one: { ratelimits: LIMITS.one }, three: { ratelimits: LIMITS.three } };
  const servers = [];
  try {
    log('limits: starting Keyward with in-process limits…');
    const memory = await startServer('keyward', {
      profileDir: profileDir && join(profileDir, 'memory'),
      options: { env: serverEnv(), keys },
    });
    servers.push(memory);
    let onRedis;
    if (redis) {
      log('limits: starting Keyward with Redis limits…');
      onRedis = await startServer('keyward', {
        profileDir: profileDir && join(profileDir, 'redis'),
        options: { env: serverEnv({ KEYWARD_REDIS_URL: REDIS_URL }), keys },
      });
      servers.push(onRedis);
    }
    const named = [
      ['in-process, no limits', target(memory, 'key')],
      ['in-process, 1 limit', target(memory, 'one')],
      ['in-process, 3 limits', target(memory, 'three')],
      ...(onRedis
        ? [
            ['Redis, no limits', target(onRedis, 'key')],
            ['Redis, 1 limit', target(onRedis, 'one')],
            ['Redis, 3 limits', target(onRedis, 'three')],
          ]
        : []),
    ];
    log(
      `limits: ${named.length} targets, ${load.warmupSeconds} s warm-up each, then ${load.slices} alternating slices of ${load.sliceSeconds} s…`,
    );
    const results = await measureAlternating(
      named.map(([, t]) => t),
      load,
    );
    const byName = Object.fromEntries(named.map(([n], i) => [n, results[i]]));
    return { results: byName, warnings: loadWarnings(Object.entries(byName)) };
  } finally {
    for (const s of servers) await s.stop();
    // The sliding logs of the hour-long limit would otherwise stay in the shared Redis for an hour.
    if (redis) {
      const lineages = servers[1] ? ['one', 'three'].map((k) => servers[1].keys[k].lineageId) : [];
      for (const l of lineages) await deleteRedisKeys(REDIS_URL, `kw:rl:{key:${l}}:*`);
    }
  }
}
