// `npm run bench` (builds first) or `node bench/run.js [--quick] [--only NAME[,NAME…]] [--profile]`.
// Every figure is a ratio against a baseline measured in this same run (STYLE.md 14).
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_USAGE_RECORDER_OPTIONS as USAGE_DEFAULTS } from '../dist/core/usage/index.js';
import { DATABASE_URL, probePostgres, probeRedis, REDIS_URL, safeUrl, serverEnv } from './backing.js';
import { runEnginesBench } from './engines.js';
import { hostSpeedText, probeHostSpeed } from './host.js';
import {
  loadWarnings,
  measureAlternating,
  SERVER_NODE_FLAGS,
  startServer,
  verifyTarget,
} from './http-load.js';
import { LIMITS, runLimitsBench } from './limits.js';
import { runPropagationBench } from './propagation.js';
import { runRedisLimiterBench } from './redis-limiter.js';
import { runUsageBench } from './usage.js';
import { runVerifyBench } from './verify-inprocess.js';

/** Benchmark names for --only; `pg` and `cold` share one set of servers when both run. */
const NAMES = ['verify', 'http', 'pg', 'cold', 'propagation', 'limits', 'redis-limiter', 'usage'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const selected = new Set(args.only === undefined ? NAMES : args.only.split(',').map((s) => s.trim()));
for (const name of selected) {
  if (!NAMES.includes(name)) {
    console.error(`--only takes one or more of ${NAMES.join(', ')} (comma-separated)`);
    process.exit(2);
  }
}
const quick = args.quick;
const VERIFY = quick ? { iterations: 20_000, rounds: 5 } : { iterations: 200_000, rounds: 11 };
// 10 s measured per server (5 slices × 2 s) after a 2 s warm-up (pg, cold); --quick: 3 s after 1 s.
const LOAD = quick
  ? { connections: 50, warmupSeconds: 1, slices: 3, sliceSeconds: 1 }
  : { connections: 50, warmupSeconds: 2, slices: 5, sliceSeconds: 2 };
// Issue 2's HTTP figure and issue 5's usage figure: three server processes per side, pooled (each
// process runs at one of two speeds for its life, docs/benchmarks.md), 4 slices × 1 s per process
// after a 1 s warm-up per process (usage: fixed amounts of that size); --quick: one process per
// side, as LOAD.
const HTTP_PROCESSES = quick ? 1 : 3;
const HTTP_LOAD = quick ? LOAD : { connections: 50, warmupSeconds: 1, slices: 4, sliceSeconds: 1 };
// Issue 3, warm targets as above; cold targets run a fixed number of requests per slice, each
// request a key not yet cached.
const COLD = quick ? { warmup: 500, slice: 1_500 } : { warmup: 2_000, slice: 8_000 };
const REVOCATIONS = quick ? 30 : 200;
// Issue 4: six targets, so shorter slices (7.5 s measured each).
const LIMITS_LOAD = quick
  ? { connections: 50, warmupSeconds: 0.5, slices: 2, sliceSeconds: 1 }
  : { connections: 50, warmupSeconds: 1, slices: 5, sliceSeconds: 1.5 };
const REDIS_LIMITER = quick
  ? { inFlight: 64, identifiers: 1_000, warmupSeconds: 0.5, slices: 2, sliceSeconds: 1 }
  : { inFlight: 64, identifiers: 1_000, warmupSeconds: 1, slices: 5, sliceSeconds: 2 };

const GOALS = {
  verify: 2, // verify ns/op ≤ 2 × floor ns/op
  throughput: 0.8, // Keyward req/s ≥ 0.8 × hello world req/s
  p99: 1.5, // Keyward p99 ≤ 1.5 × hello world p99
  postgres: 0.9, // warm verify on PostgreSQL + Redis ≥ 0.9 × on SQLite
  propagationP99Ms: 100, // revocation reaches the other node within 100 ms, p99
  memoryLimits: 0.9, // verify with in-process limits ≥ 0.9 × without
  redisLimits: 0.6, // verify with Redis limits ≥ 0.6 × without
  limiter: 1, // Keyward's Redis limiter decisions/s ≥ rate-limiter-flexible's
  usage: 0.9, // verify with usage recording + 2 alert rules ≥ 0.9 × with recording off
};

const log = (line) => process.stderr.write(`${line}\n`);
const profileRoot = args.profile ? await mkdtemp(join(tmpdir(), 'keyward-bench-prof-')) : undefined;
const profileDir = (name) => profileRoot && join(profileRoot, name);

function table(rows) {
  const header = ['Figure', 'Measured', 'Baseline', 'Ratio', 'Goal', 'Met'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const fmt = (n, digits) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const yes = (ok) => (ok ? 'yes' : 'NO');
/** A ratio with 2 decimals, or 3 when 2 would round it onto its goal and hide which side it is on. */
const ratioText = (ratio, goal) =>
  `${fmt(ratio, goal !== undefined && Math.abs(ratio - goal) < 0.005 ? 3 : 2)}×`;

/** A warning when the probe moved by more than a quarter between start and end, or within either. */
function hostNote(a, b) {
  const spread = Math.max(a.max, b.max) / Math.min(a.min, b.min);
  return spread > 1.25
    ? ` — the machine's speed changed by up to ${fmt(spread, 2)}× during the run (a shared host): compare figures across runs with care`
    : '';
}

const started = new Date();
const load0 = loadavg();
log('host speed probe…');
const speed0 = probeHostSpeed();
const rows = [];
const notes = [];
const skipped = [];
let allMet = true;

/** A row whose goal is a lower bound on measured / baseline (throughputs). */
function atLeast(name, measured, baseline, goal, digits = 0) {
  const ratio = measured / baseline;
  const met = ratio >= goal;
  allMet &&= met;
  rows.push([
    name,
    fmt(measured, digits),
    fmt(baseline, digits),
    ratioText(ratio, goal),
    `≥ ${fmt(goal, 2)}×`,
    yes(met),
  ]);
}
/** A row without a goal. */
function info(name, measured, baseline, digits) {
  rows.push([name, fmt(measured, digits), fmt(baseline, digits), ratioText(measured / baseline), '—', '—']);
}

// PostgreSQL and Redis: probed once, when a selected benchmark needs them.
const needsBacking = ['pg', 'cold', 'propagation', 'limits', 'redis-limiter'].some((n) => selected.has(n));
const pgDown = needsBacking ? await probePostgres() : undefined;
const redisDown = needsBacking ? await probeRedis() : undefined;
const scaleOutDown = [pgDown, redisDown].filter(Boolean).join('; ') || undefined;
if (needsBacking)
  log(
    `backing services: PostgreSQL ${pgDown ? 'UNREACHABLE' : 'ok'} (${safeUrl(DATABASE_URL)}), Redis ${redisDown ? 'UNREACHABLE' : 'ok'} (${safeUrl(REDIS_URL)}); set KEYWARD_BENCH_DATABASE_URL / KEYWARD_BENCH_REDIS_URL to use others`,
  );

if (selected.has('verify')) {
  log(`verify: ${VERIFY.rounds} rounds × ${VERIFY.iterations.toLocaleString('en-US')} iterations…`);
  const v = await runVerifyBench({ ...VERIFY, stored: true });
  const ratio = v.verifyNs / v.floorNs;
  const met = ratio <= GOALS.verify;
  allMet &&= met;
  rows.push([
    'In-process verify, cached key (median ns/op)',
    fmt(v.verifyNs, 0),
    fmt(v.floorNs, 0),
    ratioText(ratio, GOALS.verify),
    `≤ ${fmt(GOALS.verify, 2)}×`,
    yes(met),
  ]);
  // With every event stored (the row above drops most: the loop outruns SQLite), against the
  // same loop and pauses without recording; main-thread CPU time, no goal.
  info(
    'Verify, every usage event stored, vs recording off (main-thread CPU ns/op)',
    v.storedCpuNs,
    v.pausedCpuNs,
    0,
  );
  // The same loop without usage recording: what verification itself costs. The SQLite writes
  // of usage run on a thread of their own; issue 5's `usage` benchmark tracks their cost.
  const off = await runVerifyBench({ ...VERIFY, env: { KEYWARD_USAGE_RECORDING: 'off' } });
  const offRatio = off.verifyNs / off.floorNs;
  allMet &&= offRatio <= GOALS.verify;
  rows.push([
    'In-process verify, cached key, usage recording off (ns/op)',
    fmt(off.verifyNs, 0),
    fmt(off.floorNs, 0),
    ratioText(offRatio, GOALS.verify),
    `≤ ${fmt(GOALS.verify, 2)}×`,
    yes(offRatio <= GOALS.verify),
  ]);
  notes.push(
    `verify baseline: crypto.hash('sha256', key) + Map.get(hash); ${v.rounds} alternating rounds × ${v.iterations.toLocaleString('en-US')} iterations, after 3 warm-up rounds; wall time`,
    `verify cross-check in CPU time (not inflated by preemption on a shared machine; the process's, so the usage writer thread's included): ${fmt(v.verifyCpuNs, 0)} vs ${fmt(v.floorCpuNs, 0)} ns/op = ${fmt(v.verifyCpuNs / v.floorCpuNs, 2)}×; recording off ${fmt(off.verifyCpuNs, 0)} vs ${fmt(off.floorCpuNs, 0)} = ${fmt(off.verifyCpuNs / off.floorCpuNs, 2)}×`,
    `verify, usage recording on: ${v.usage.stored.toLocaleString('en-US')} events stored and ${v.usage.dropped.toLocaleString('en-US')} dropped (counted: the queue was full) during the timed rounds, which verify faster than SQLite stores rows and never yield to the event loop`,
    `verify, every usage event stored: slices of 1,000 verifications, each followed by awaiting the recorder's flush (median ${fmt(v.flushWaitMs, 1)} ms, the writer thread's batch); baseline: the same slices with recording detached, each followed by an idle pause as long; CPU time of the main thread alone (/proc/thread-self/stat, 10 ms ticks; mean over the rounds)`,
  );
}

if (selected.has('http')) {
  // Every server runs in its own child process, all side by side; one is under load at a time.
  log(`http: starting ${HTTP_PROCESSES} Fastify hello world and ${HTTP_PROCESSES} Keyward servers…`);
  const started = [];
  let h;
  try {
    const targets = [];
    for (let i = 0; i < HTTP_PROCESSES; i++) {
      const hello = await startServer('baseline', { profileDir: profileDir('http/baseline') });
      started.push(hello);
      const server = await startServer('keyward', {
        profileDir: profileDir('http/keyward'),
        options: { env: serverEnv() },
      });
      started.push(server);
      targets.push(
        {
          server: hello,
          url: `${hello.url}/`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"hello":"world"}',
          pool: 'baseline',
        },
        { ...verifyTarget(server, { body: JSON.stringify({ key: server.key }) }), pool: 'keyward' },
      );
    }
    for (const t of targets) {
      const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
      const answer = await res.json();
      if (res.status !== 200 || (t.pool === 'keyward' && answer.valid !== true))
        throw new Error(`${t.url} answered ${res.status} ${JSON.stringify(answer)}`);
    }
    log(
      `http: ${HTTP_LOAD.warmupSeconds} s warm-up each, then ${HTTP_LOAD.slices} alternating slices of ${HTTP_LOAD.sliceSeconds} s each…`,
    );
    const [baseline, keyward] = await measureAlternating(targets, HTTP_LOAD);
    h = { baseline, keyward };
  } finally {
    for (const s of started) await s.stop();
  }
  atLeast(
    'HTTP POST /v1/keys/verify throughput (req/s)',
    h.keyward.requestsPerSecond,
    h.baseline.requestsPerSecond,
    GOALS.throughput,
  );
  info('HTTP latency p50 (ms)', h.keyward.p50, h.baseline.p50, 2);
  const p99 = h.keyward.p99 / h.baseline.p99;
  const p99Met = p99 <= GOALS.p99;
  allMet &&= p99Met;
  rows.push([
    'HTTP latency p99 (ms)',
    fmt(h.keyward.p99, 2),
    fmt(h.baseline.p99, 2),
    ratioText(p99, GOALS.p99),
    `≤ ${fmt(GOALS.p99, 2)}×`,
    yes(p99Met),
  ]);
  info(
    'Server CPU per request (µs, user + system)',
    h.keyward.cpuPerRequestUs,
    h.baseline.cpuPerRequestUs,
    1,
  );
  notes.push(
    `http baseline: plain Fastify hello world (POST /, JSON body); each server in its own child process, run with npm start's Node.js flags (${SERVER_NODE_FLAGS.join(' ') || 'none'}), the hello world too; ${HTTP_PROCESSES} processes per side, pooled (their slices summed, their response times merged); ${HTTP_LOAD.connections} connections, ${HTTP_LOAD.warmupSeconds} s warm-up per process, then ${HTTP_LOAD.slices} alternating slices of ${HTTP_LOAD.sliceSeconds} s per process (${HTTP_PROCESSES * HTTP_LOAD.slices * HTTP_LOAD.sliceSeconds} s measured per side)`,
    `http, each process (req/s · server CPU µs per request): Keyward ${h.keyward.members.map((m) => `${fmt(m.requestsPerSecond, 0)} · ${fmt(m.cpuPerRequestUs, 1)}`).join('; ')}; hello world ${h.baseline.members.map((m) => `${fmt(m.requestsPerSecond, 0)} · ${fmt(m.cpuPerRequestUs, 1)}`).join('; ')}`,
    `server CPU per request is a cross-check, not a goal: when the throughput ratio and the CPU ratio disagree a lot, something else was using the CPUs`,
    `http load generator (autocannon, one process) CPU per request: ${fmt(h.keyward.clientCpuPerRequestUs, 1)} µs against Keyward, ${fmt(h.baseline.clientCpuPerRequestUs, 1)} µs against the baseline (on 2 cores, a client needing about as much CPU per request as the server bounds the figure)`,
    ...loadWarnings([
      ['Keyward', h.keyward],
      ['baseline', h.baseline],
    ]),
  );
}

if (selected.has('pg') || selected.has('cold')) {
  const wantPg = selected.has('pg');
  const wantCold = selected.has('cold');
  if (scaleOutDown) {
    if (wantPg) skipped.push(`pg (PostgreSQL + Redis vs SQLite): ${scaleOutDown}`);
    if (wantCold) skipped.push(`cold, PostgreSQL half (SQLite still measured): ${scaleOutDown}`);
  }
  if (wantCold || !scaleOutDown) {
    const e = await runEnginesBench({
      load: LOAD,
      cold: wantCold ? COLD : null,
      pg: !scaleOutDown,
      profileDir: profileDir('engines'),
      log,
    });
    const [sqlite, postgres] = e.engines;
    if (wantPg && postgres) {
      atLeast(
        'PG + Redis verify, warm, vs SQLite (req/s)',
        postgres.warmResult.requestsPerSecond,
        sqlite.warmResult.requestsPerSecond,
        GOALS.postgres,
      );
      info('PG + Redis verify p50 vs SQLite (ms)', postgres.warmResult.p50, sqlite.warmResult.p50, 2);
      info('PG + Redis verify p99 vs SQLite (ms)', postgres.warmResult.p99, sqlite.warmResult.p99, 2);
      notes.push(
        `pg: the same Keyward server on PostgreSQL (fresh schema ${e.schema}, pool of 10 connections, the default) + Redis (cache bus and limiter) vs on SQLite (in-process bus); one cached key, ${LOAD.connections} connections, ${LOAD.slices} alternating slices of ${LOAD.sliceSeconds} s after ${LOAD.warmupSeconds} s warm-up`,
        `pg cross-check, server CPU per request: ${fmt(postgres.warmResult.cpuPerRequestUs, 1)} vs ${fmt(sqlite.warmResult.cpuPerRequestUs, 1)} µs = ${fmt(postgres.warmResult.cpuPerRequestUs / sqlite.warmResult.cpuPerRequestUs, 2)}× (load generator: ${fmt(postgres.warmResult.clientCpuPerRequestUs, 1)} vs ${fmt(sqlite.warmResult.clientCpuPerRequestUs, 1)} µs)`,
      );
    }
    if (wantCold) {
      for (const eng of e.engines) {
        info(
          `${eng.name} verify, cold cache, vs warm (req/s)`,
          eng.coldResult.requestsPerSecond,
          eng.warmResult.requestsPerSecond,
          0,
        );
        notes.push(
          `cold ${eng.name}: p50 ${fmt(eng.coldResult.p50, 2)} ms vs ${fmt(eng.warmResult.p50, 2)} ms warm (${fmt(eng.coldResult.p50 / eng.warmResult.p50, 2)}×), p99 ${fmt(eng.coldResult.p99, 2)} vs ${fmt(eng.warmResult.p99, 2)} ms (${fmt(eng.coldResult.p99 / eng.warmResult.p99, 2)}×); server CPU per request ${fmt(eng.coldResult.cpuPerRequestUs, 1)} vs ${fmt(eng.warmResult.cpuPerRequestUs, 1)} µs (${fmt(eng.coldResult.cpuPerRequestUs / eng.warmResult.cpuPerRequestUs, 2)}×); ${eng.coldResult.ok.toLocaleString('en-US')} fresh keys verified`,
        );
      }
      notes.push(
        `cold: ${(COLD.warmup + LOAD.slices * COLD.slice).toLocaleString('en-US')} valid keys per engine inserted up front (clones of a key made by the service, bench/bulk-keys.js); each verified once: ${COLD.warmup.toLocaleString('en-US')} as warm-up, then ${LOAD.slices} slices of ${COLD.slice.toLocaleString('en-US')}, alternating with the warm targets; every answer checked VALID`,
      );
    }
    notes.push(...e.warnings);
  }
}

if (selected.has('propagation')) {
  if (scaleOutDown) skipped.push(`propagation (two nodes): ${scaleOutDown}`);
  else {
    const p = await runPropagationBench({ revocations: REVOCATIONS, log });
    const met = p.p99 <= GOALS.propagationP99Ms;
    allMet &&= met;
    info('Revocation reaches node 2, p50 (ms)', p.p50, p.rtP50, 2);
    rows.push([
      'Revocation reaches node 2, p99 (ms)',
      fmt(p.p99, 2),
      fmt(p.rtP99, 2),
      ratioText(p.p99 / p.rtP99),
      `≤ ${GOALS.propagationP99Ms} ms`,
      yes(met),
    ]);
    notes.push(
      `propagation: two Keyward processes on one PostgreSQL schema + Redis; ${p.count} revocations one at a time, delay from node 1's revoke answer to node 2's first REVOKED answer, node 2 polled back to back on a kept-alive connection (${p.polls} polls; ${p.stale} revocations saw VALID at least once first); max ${fmt(p.max, 2)} ms. Baseline: one warm verify round trip on node 2 just before each revocation (the resolution of the poll)`,
      `propagation floor: Redis pub/sub delivery between two connections of one process, p50 ${fmt(p.pubsubP50, 3)} ms, p99 ${fmt(p.pubsubP99, 3)} ms`,
    );
  }
}

if (selected.has('limits')) {
  if (redisDown) skipped.push(`limits, Redis half (in-process limits still measured): ${redisDown}`);
  const l = await runLimitsBench({
    load: LIMITS_LOAD,
    redis: !redisDown,
    profileDir: profileDir('limits'),
    log,
  });
  const r = l.results;
  const none = r['in-process, no limits'];
  atLeast(
    'Verify, 1 in-process limit, vs none (req/s)',
    r['in-process, 1 limit'].requestsPerSecond,
    none.requestsPerSecond,
    GOALS.memoryLimits,
  );
  atLeast(
    'Verify, 3 in-process limits, vs none (req/s)',
    r['in-process, 3 limits'].requestsPerSecond,
    none.requestsPerSecond,
    GOALS.memoryLimits,
  );
  if (!redisDown) {
    const redisNone = r['Redis, no limits'];
    atLeast(
      'Verify, 1 Redis limit, vs none (req/s)',
      r['Redis, 1 limit'].requestsPerSecond,
      redisNone.requestsPerSecond,
      GOALS.redisLimits,
    );
    atLeast(
      'Verify, 3 Redis limits, vs none (req/s)',
      r['Redis, 3 limits'].requestsPerSecond,
      redisNone.requestsPerSecond,
      GOALS.redisLimits,
    );
  }
  const limitsText = (specs) => specs.map((s) => `${s.name} ${s.windowMs / 1000} s`).join(', ');
  notes.push(
    `limits: 1 limit = ${limitsText(LIMITS.one)}; 3 limits = ${limitsText(LIMITS.three)}; each ${LIMITS.one[0].limit.toLocaleString('en-US')} per window, so nothing is refused (every answer checked VALID). In-process: servers without KEYWARD_REDIS_URL; Redis: servers with it (SQLite store all), each engine against a key without limits on a server of the same engine; a server process per target; ${LIMITS_LOAD.slices} alternating slices of ${LIMITS_LOAD.sliceSeconds} s per target after ${LIMITS_LOAD.warmupSeconds} s warm-up`,
    `limits, all targets (req/s · p50 / p99 ms · CPU µs per request of the server, of Redis where used): ${Object.entries(
      r,
    )
      .map(
        ([name, x]) =>
          `${name} ${fmt(x.requestsPerSecond, 0)} · ${fmt(x.p50, 2)} / ${fmt(x.p99, 2)} · ${fmt(x.cpuPerRequestUs, 1)}${x.probesPerRequestUs.redis !== undefined ? ` + ${fmt(x.probesPerRequestUs.redis, 1)}` : ''}`,
      )
      .join('; ')}`,
    `limits cross-check in server CPU per request (no limits ÷ with limits, what the throughput ratio would be if the server alone were the bottleneck): ${[
      ['in-process, 1 limit', 'in-process, no limits'],
      ['in-process, 3 limits', 'in-process, no limits'],
      ['Redis, 1 limit', 'Redis, no limits'],
      ['Redis, 3 limits', 'Redis, no limits'],
    ]
      .filter(([a, b]) => r[a] && r[b])
      .map(([a, b]) => `${a} ${fmt(r[b].cpuPerRequestUs / r[a].cpuPerRequestUs, 2)}×`)
      .join(', ')}`,
    ...l.warnings,
  );
}

if (selected.has('redis-limiter')) {
  if (redisDown) skipped.push(`redis-limiter (Keyward vs rate-limiter-flexible): ${redisDown}`);
  else {
    const x = await runRedisLimiterBench({ ...REDIS_LIMITER, log });
    atLeast(
      'Redis limiter decisions/s, Keyward vs rate-limiter-flexible',
      x.keyward.perSecond,
      x.flexible.perSecond,
      GOALS.limiter,
    );
    notes.push(
      `redis-limiter: Keyward's RedisRateLimiter (sliding log, one Lua script call per identifier per event-loop turn, deciding its requests in order) vs rate-limiter-flexible's RateLimiterRedis (fixed window, its default atomic Lua script; its ioredis client configured as Keyward's own), one limit of ${(1e9).toLocaleString('en-US')} per 1 s window on both, ${REDIS_LIMITER.inFlight} decisions in flight over ${REDIS_LIMITER.identifiers.toLocaleString('en-US')} identifiers, ${REDIS_LIMITER.slices} alternating slices of ${REDIS_LIMITER.sliceSeconds} s after ${REDIS_LIMITER.warmupSeconds} s warm-up`,
      `redis-limiter detail: p50 ${fmt(x.keyward.p50, 3)} vs ${fmt(x.flexible.p50, 3)} ms, p99 ${fmt(x.keyward.p99, 3)} vs ${fmt(x.flexible.p99, 3)} ms; client CPU per decision ${fmt(x.keyward.clientCpuUs, 1)} vs ${fmt(x.flexible.clientCpuUs, 1)} µs; Redis CPU per decision ${fmt(x.keyward.redisCpuUs, 1)} vs ${fmt(x.flexible.redisCpuUs, 1)} µs (INFO cpu: includes anything else this Redis served meanwhile); median slice ${fmt(x.keyward.medianSlicePerSecond, 0)} vs ${fmt(x.flexible.medianSlicePerSecond, 0)} decisions/s`,
    );
    if (x.errors.keyward || x.errors.flexible)
      notes.push(
        `WARNING redis-limiter: ${x.errors.keyward} Keyward and ${x.errors.flexible} rate-limiter-flexible decisions failed or fell back`,
      );
  }
}

if (selected.has('usage')) {
  const u = await runUsageBench({
    load: HTTP_LOAD,
    processes: HTTP_PROCESSES,
    profileDir: profileDir('usage'),
    log,
  });
  atLeast(
    'Verify, usage recording + 2 alert rules, vs off (req/s)',
    u.on.requestsPerSecond,
    u.off.requestsPerSecond,
    GOALS.usage,
  );
  // Goal 0 lost: nothing dropped, and every request autocannon completed is in the usage totals.
  const lost = Math.max(u.dropped, u.sent - u.used);
  const lostMet = u.dropped === 0 && u.used === u.sent;
  allMet &&= lostMet;
  rows.push([
    'Usage events lost at full load, of requests completed',
    fmt(lost, 0),
    fmt(u.sent, 0),
    '—',
    '0',
    yes(lostMet),
  ]);
  notes.push(
    `usage: Keyward servers on SQLite, KEYWARD_USAGE_RECORDING=on vs off (defaults otherwise: flush every ${fmt(USAGE_DEFAULTS.flushIntervalMs, 0)} ms or ${fmt(USAGE_DEFAULTS.batchSize, 0)} events, queue limit ${fmt(USAGE_DEFAULTS.maxQueued, 0)}), two alert rules on each (threshold on failures, 1,000,000 per 60 s; new_ip; action notify), one cached key; ${u.processes} processes per side, pooled; ${HTTP_LOAD.connections} connections, ${HTTP_LOAD.slices} alternating slices of a fixed ${fmt(20_000 * HTTP_LOAD.sliceSeconds, 0)} requests per process after ${fmt(20_000 * HTTP_LOAD.warmupSeconds, 0)} of warm-up (fixed amounts, so that autocannon's count is exact)`,
    `usage, each process (req/s · server CPU µs per request): recording on ${u.on.members.map((m) => `${fmt(m.requestsPerSecond, 0)} · ${fmt(m.cpuPerRequestUs, 1)}`).join('; ')}; off ${u.off.members.map((m) => `${fmt(m.requestsPerSecond, 0)} · ${fmt(m.cpuPerRequestUs, 1)}`).join('; ')}`,
    `usage, lost events (summed over the ${u.processes} recording servers): keyward_usage_events_dropped_total ${fmt(u.dropped, 0)}; requests completed against them ${fmt(u.sent, 0)} (1 check each + autocannon's, warm-up included) vs sum of GET /v1/keys/{id}/usage totals after the flush ${fmt(u.used, 0)} (${u.used === u.sent ? 'equal' : `differ by ${fmt(u.sent - u.used, 0)}`}); keyward_verifications_total ${fmt(u.verifications, 0)}, events stored ${fmt(u.stored, 0)}, largest queue depth right after the load ${fmt(u.queueAtEnd, 0)}, flush failures ${fmt(u.flushFailures, 0)}; lost ${fmt(lost, 0)}`,
    `usage cross-check, server CPU per request: ${fmt(u.on.cpuPerRequestUs, 1)} vs ${fmt(u.off.cpuPerRequestUs, 1)} µs = ${fmt(u.off.cpuPerRequestUs / u.on.cpuPerRequestUs, 2)}× in CPU terms (load generator ${fmt(u.on.clientCpuPerRequestUs, 1)} vs ${fmt(u.off.clientCpuPerRequestUs, 1)} µs); p50 ${fmt(u.on.p50, 2)} vs ${fmt(u.off.p50, 2)} ms, p99 ${fmt(u.on.p99, 2)} vs ${fmt(u.off.p99, 2)} ms`,
    ...u.warnings,
  );
}

const load1 = loadavg();
const speed1 = probeHostSpeed();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nKeyward benchmarks${quick ? ' (--quick: short runs, figures are a sanity check only)' : ''}` +
    `\n${started.toISOString()} · Node ${process.versions.node} · ${availableParallelism()} cores · ${cpu}` +
    `\nload average (1 min) ${fmt(load0[0], 2)} at the start, ${fmt(load1[0], 2)} at the end; ${Math.round((Date.now() - started.getTime()) / 1000)} s in all` +
    `\nhost speed probe (bench/host.js: the same CPU work, 10 times): ${hostSpeedText(speed0)} at the start, ${hostSpeedText(speed1)} at the end${hostNote(speed0, speed1)}\n`,
);
if (rows.length > 0) console.log(table(rows));
console.log('');
for (const n of notes) console.log(`- ${n}`);
for (const s of skipped) console.log(`- SKIPPED ${s}`);
if (profileRoot)
  console.log(
    `\nCPU profiles of the server processes in ${profileRoot} (summarize: node bench/profile.js <dir>)`,
  );
console.log(
  `\n${allMet ? 'All goals met' : 'Some goals are NOT met'}${skipped.length > 0 ? ` (${skipped.length} skipped in whole or in part: see SKIPPED)` : ''}.`,
);
