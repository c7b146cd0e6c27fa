// Issue 4: raw decisions per second of Keyward's Redis limiter against rate-limiter-flexible's
// RateLimiterRedis, on the same Redis, same identifiers, same limit and window, same number of
// decisions in flight, in alternating slices of one run. No HTTP: the limiters are called directly.
// A third contender, rate-limiter-flexible on an auto-pipelined client, is a cross-check only.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { RedisRateLimiter } from '../dist/adapters/redis/redis-rate-limiter.js';
import { systemClock } from '../dist/core/clock/index.js';
import { REDIS_URL, redisInfoCpu } from './backing.js';
import { median, percentile } from './stats.js';

const LIMIT = 1_000_000_000;
const WINDOW_MS = 1_000;

/** process CPU (user + system) in µs */
function cpuNow() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Runs `decide` with `inFlight` calls outstanding for `seconds`; every call must succeed.
 * @returns {Promise<{ decisions: number, seconds: number, cpuUs: number, redisCpuUs: number, latencies: number[] }>}
 */
async function slice(decide, { seconds, inFlight, identifiers }, info) {
  let next = 0;
  let decisions = 0;
  const latencies = [];
  const redis0 = await redisInfoCpu(info);
  const c0 = cpuNow();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const id = identifiers[next++ % identifiers.length];
      const s = performance.now();
      await decide(id);
      latencies.push(performance.now() - s);
      decisions++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpuUs = cpuNow() - c0;
  const redisCpuUs = (await redisInfoCpu(info)) - redis0;
  return { decisions, seconds: elapsed, cpuUs, redisCpuUs, latencies };
}

/**
 * @param {{ inFlight: number, identifiers: number, warmupSeconds: number, slices: number,
 *   sliceSeconds: number, log(line: string): void }} opts
 */
export async function runRedisLimiterBench({
  inFlight,
  identifiers: idCount,
  warmupSeconds,
  slices,
  sliceSeconds,
  log,
}) {
  const run = `${process.pid}_${Date.now().toString(36)}`;
  const identifiers = Array.from({ length: idCount }, (_, i) => `kwbench:${run}:${i}`);
  const errors = { keyward: 0, flexible: 0, flexiblePipelined: 0 };
  const keyward = new RedisRateLimiter(REDIS_URL, systemClock, {
    onError: () => {
      errors.keyward++;
    },
  });
  // The client rate-limiter-flexible gets is configured as Keyward's own (src/adapters/redis/
  // redis-rate-limiter.ts), so that only the limiters differ, not the clients.
  const clientOptions = {
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 500,
  };
  const client = new Redis(REDIS_URL, clientOptions);
  client.on('error', () => {});
  // Keyward's limiter writes the calls of one event-loop turn together (16 to a socket write);
  // ioredis's auto-pipelining does the same for any client. The cross-check: rate-limiter-flexible
  // on such a client, so that its figure with the same batching of writes is known too.
  const pipelined = new Redis(REDIS_URL, { ...clientOptions, enableAutoPipelining: true });
  pipelined.on('error', () => {});
  const info = new Redis(REDIS_URL);
  info.on('error', () => {});
  try {
    if (!(await keyward.ready(3_000))) throw new Error('Keyward RedisRateLimiter did not connect');
    for (const c of [client, pipelined])
      if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
    const flexible = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `kwbench_rlf_${run}`,
      points: LIMIT,
      duration: WINDOW_MS / 1000,
    });
    const flexiblePipelined = new RateLimiterRedis({
      storeClient: pipelined,
      keyPrefix: `kwbench_rlfp_${run}`,
      points: LIMIT,
      duration: WINDOW_MS / 1000,
    });
    const spec = [{ name: 'bench', limit: LIMIT, windowMs: WINDOW_MS }];
    const contenders = [
      {
        name: 'keyward',
        decide: async (id) => {
          const d = await keyward.limit(id, spec, 1);
          if (!d.success || !keyward.healthy) errors.keyward++;
        },
      },
      {
        name: 'flexible',
        decide: (id) =>
          flexible.consume(id, 1).catch(() => {
            errors.flexible++;
          }),
      },
      {
        name: 'flexiblePipelined',
        decide: (id) =>
          flexiblePipelined.consume(id, 1).catch(() => {
            errors.flexiblePipelined++;
          }),
      },
    ];
    log(
      `redis-limiter: ${inFlight} decisions in flight over ${idCount} identifiers; ${warmupSeconds} s warm-up each, then ${slices} alternating slices of ${sliceSeconds} s…`,
    );
    const opts = { inFlight, identifiers };
    for (const c of contenders) await slice(c.decide, { ...opts, seconds: warmupSeconds }, info);
    const acc = contenders.map(() => ({
      decisions: 0,
      seconds: 0,
      cpuUs: 0,
      redisCpuUs: 0,
      latencies: [],
      rates: [],
    }));
    for (let i = 0; i < slices; i++) {
      const order = i % 2 === 1 ? [2, 1, 0] : [0, 1, 2];
      for (const j of order) {
        const s = await slice(contenders[j].decide, { ...opts, seconds: sliceSeconds }, info);
        const a = acc[j];
        a.decisions += s.decisions;
        a.seconds += s.seconds;
        a.cpuUs += s.cpuUs;
        a.redisCpuUs += s.redisCpuUs;
        a.rates.push(s.decisions / s.seconds);
        for (const l of s.latencies) a.latencies.push(l);
      }
    }
    const summary = (a) => {
      const sorted = Float64Array.from(a.latencies).sort();
      return {
        perSecond: a.decisions / a.seconds,
        medianSlicePerSecond: median(a.rates),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        clientCpuUs: a.cpuUs / a.decisions,
        redisCpuUs: a.redisCpuUs / a.decisions,
        decisions: a.decisions,
      };
    };
    const out = {
      keyward: summary(acc[0]),
      flexible: summary(acc[1]),
      flexiblePipelined: summary(acc[2]),
      errors,
    };
    const k = out.keyward;
    const p = out.flexiblePipelined;
    log(
      `redis-limiter cross-check: rate-limiter-flexible on an auto-pipelined ioredis client ${Math.round(p.perSecond)} decisions/s; Keyward ${(k.perSecond / p.perSecond).toFixed(2)}× of it; its client CPU ${p.clientCpuUs.toFixed(1)} µs, Redis CPU ${p.redisCpuUs.toFixed(1)} µs per decision (Keyward ${k.clientCpuUs.toFixed(1)} / ${k.redisCpuUs.toFixed(1)})${errors.flexiblePipelined ? `; WARNING ${errors.flexiblePipelined} of its decisions failed` : ''}`,
    );
    return out;
  } finally {
    await keyward.close();
    client.disconnect();
    pipelined.disconnect();
    info.disconnect();
  }
}
