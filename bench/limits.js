// Issue 4: HTTP verification of keys with rate limits, against a key without limits, same run.
// In-process: servers without KEYWARD_REDIS_URL; Redis: servers with it (one Lua script per
// decision), each engine against its own no-limits baseline. Limits are far above what the run
// can spend, so nothing is refused and every answer is VALID (checked on every response).
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { deleteRedisKeys, REDIS_URL, redisInfoCpu, serverEnv } from './backing.js';
import { loadWarnings, measureAlternating, startServer, verifyTarget } from './http-load.js';

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

function target(server, name, probes) {
  return verifyTarget(server, {
    ...(probes ? { probes } : {}),
    body: JSON.stringify({ key: server.keys[name].key }),
    expect: '"valid":true',
  });
}

/**
 * The targets: engine, how many limits, the key's create input; `keys`: requests go round that
 * many keys instead of one. With one key, the Redis engine decides the requests of one event-loop
 * turn in one script call; spread over 1,000 keys (50 connections), almost every request has a
 * call of its own: the cross-check for what a Redis limit costs when that cannot help. Their
 * limit's 1 s window lets their logs expire from Redis by themselves.
 */
const CONFIGS = [
  { name: 'in-process, no limits', redis: false, input: {} },
  { name: 'in-process, 1 limit', redis: false, input: { ratelimits: LIMITS.one } },
  { name: 'in-process, 3 limits', redis: false, input: { ratelimits: LIMITS.three } },
  { name: 'Redis, no limits', redis: true, input: {} },
  { name: 'Redis, 1 limit', redis: true, input: { ratelimits: LIMITS.one } },
  { name: 'Redis, 3 limits', redis: true, input: { ratelimits: LIMITS.three } },
  { name: 'Redis, no limits, 1,000 keys', redis: true, input: {}, keys: 1_000 },
  { name: 'Redis, 1 limit, 1,000 keys', redis: true, input: { ratelimits: LIMITS.one }, keys: 1_000 },
];

/** A body per request, round the keys. */
function roundRobin(keys) {
  const bodies = keys.map((k) => JSON.stringify({ key: k.key }));
  let next = 0;
  return () => bodies[next++ % bodies.length];
}

/**
 * Every target has a server process of its own: whatever limits cost a process as a whole (the
 * sliding logs' memory and its garbage collection, Redis connections) is then charged to the
 * target that has them, never to the no-limits baseline.
 * @param {{ load: object, redis: boolean, profileDir?: string, log(line: string): void }} opts
 *   `redis` false: in-process limits only.
 */
export async function runLimitsBench({ load, redis, profileDir, log }) {
  const configs = CONFIGS.filter((c) => redis || !c.redis);
  const servers = [];
  // Redis shares this machine's cores with the server and the load generator: its CPU time per
  // request is part of what a Redis limit costs here (on another machine in production).
  const info = redis ? new Redis(REDIS_URL) : undefined;
  info?.on('error', () => {});
  const probes = info ? { redis: () => redisInfoCpu(info) } : undefined;
  try {
    log(`limits: starting ${configs.length} Keyward servers (one per target)…`);
    for (const [i, c] of configs.entries()) {
      // Usage recording off: its cost (measured by the usage benchmark) would be the same on
      // both sides of every ratio, but it adds to the baseline and blurs it (a thread of its
      // own on this 2-core machine). Off, a ratio is what limits cost against a leaner
      // verification: the stricter test.
      const env = serverEnv({
        KEYWARD_USAGE_RECORDING: 'off',
        ...(c.redis ? { KEYWARD_REDIS_URL: REDIS_URL } : {}),
      });
      servers.push(
        await startServer('keyward', {
          profileDir: profileDir && join(profileDir, `${i}-${c.name.replace(/\W+/g, '-')}`),
          options: { env, keys: { limited: c.input } },
        }),
      );
    }
    const targets = [];
    for (const [i, c] of configs.entries()) {
      const t = target(servers[i], 'limited', c.redis ? probes : undefined);
      if (c.keys) {
        const { keys } = await servers[i].command({ cmd: 'keys', count: c.keys, input: c.input });
        t.nextBody = roundRobin(keys);
      }
      targets.push(t);
    }
    log(
      `limits: ${targets.length} targets, ${load.warmupSeconds} s warm-up each, then ${load.slices} alternating slices of ${load.sliceSeconds} s…`,
    );
    const results = await measureAlternating(targets, load);
    const byName = Object.fromEntries(configs.map((c, i) => [c.name, results[i]]));
    const many = byName['Redis, 1 limit, 1,000 keys'];
    const manyNone = byName['Redis, no limits, 1,000 keys'];
    if (many && manyNone)
      log(
        `limits cross-check, requests round 1,000 keys (one script call each, almost): Redis, 1 limit ${Math.round(many.requestsPerSecond)} req/s vs no limits ${Math.round(manyNone.requestsPerSecond)} = ${(many.requestsPerSecond / manyNone.requestsPerSecond).toFixed(2)}×; server CPU ${many.cpuPerRequestUs.toFixed(1)} vs ${manyNone.cpuPerRequestUs.toFixed(1)} µs, Redis +${(many.probesPerRequestUs.redis ?? 0).toFixed(1)} µs per request`,
      );
    return { results: byName, warnings: loadWarnings(Object.entries(byName)) };
  } finally {
    info?.disconnect();
    for (const s of servers) await s.stop();
    // The sliding log of the hour-long limit would otherwise stay in the shared Redis for an hour.
    for (const [i, c] of configs.entries()) {
      const lineage = servers[i]?.keys.limited.lineageId;
      if (c.redis && lineage) await deleteRedisKeys(REDIS_URL, `kw:rl:{key:${lineage}}:*`);
    }
  }
}
