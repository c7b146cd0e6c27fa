// `npm run bench` (builds first) or `node bench/run.js [--quick] [--only verify|http] [--profile]`.
// Every figure is a ratio against a baseline measured in this same run (STYLE.md 14).
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureAlternating, startServer } from './http-load.js';
import { runVerifyBench } from './verify-inprocess.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
if (args.only !== undefined && args.only !== 'verify' && args.only !== 'http') {
  console.error('--only takes verify or http');
  process.exit(2);
}
const quick = args.quick;
const VERIFY = quick ? { iterations: 20_000, rounds: 5 } : { iterations: 200_000, rounds: 11 };
// 10 s measured per server (5 slices × 2 s) after a 2 s warm-up; --quick: 3 s after 1 s.
const LOAD = quick
  ? { connections: 50, warmupSeconds: 1, slices: 3, sliceSeconds: 1 }
  : { connections: 50, warmupSeconds: 2, slices: 5, sliceSeconds: 2 };

const GOALS = {
  verify: 2, // verify ns/op ≤ 2 × floor ns/op
  throughput: 0.8, // Keyward req/s ≥ 0.8 × hello world req/s
  p99: 1.5, // Keyward p99 ≤ 1.5 × hello world p99
};

const log = (line) => process.stderr.write(`${line}\n`);

async function httpBench() {
  const profileDir = args.profile ? await mkdtemp(join(tmpdir(), 'keyward-bench-prof-')) : undefined;
  // Both servers run side by side, each in its own child process; only one is under load at a time.
  log('http: starting the Fastify hello world and Keyward servers…');
  const hello = await startServer('baseline', { profileDir: profileDir && join(profileDir, 'baseline') });
  const server = await startServer('keyward', { profileDir: profileDir && join(profileDir, 'keyward') });
  try {
    const helloTarget = {
      server: hello,
      url: `${hello.url}/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    };
    const verifyTarget = {
      server,
      url: `${server.url}/v1/keys/verify`,
      method: 'POST',
      headers: { authorization: `Bearer ${server.rootKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: server.key }),
    };
    for (const t of [helloTarget, verifyTarget]) {
      const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
      const answer = await res.json();
      if (res.status !== 200 || (t === verifyTarget && answer.valid !== true))
        throw new Error(`${t.url} answered ${res.status} ${JSON.stringify(answer)}`);
    }
    log(
      `http: ${LOAD.warmupSeconds} s warm-up each, then ${LOAD.slices} alternating slices of ${LOAD.sliceSeconds} s each…`,
    );
    const [baseline, keyward] = await measureAlternating([helloTarget, verifyTarget], LOAD);
    return { baseline, keyward };
  } finally {
    await hello.stop();
    await server.stop();
    if (profileDir)
      log(
        `http: CPU profiles of the servers in ${profileDir}/{baseline,keyward} (summarize: node bench/profile.js <dir>)`,
      );
  }
}

function table(rows) {
  const header = ['Figure', 'Keyward', 'Baseline', 'Ratio', 'Goal', 'Met'];
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

const started = new Date();
const rows = [];
const notes = [];
let allMet = true;

if (args.only !== 'http') {
  log(`verify: ${VERIFY.rounds} rounds × ${VERIFY.iterations.toLocaleString('en-US')} iterations…`);
  const v = await runVerifyBench(VERIFY);
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
  notes.push(
    `verify baseline: crypto.hash('sha256', key) + Map.get(hash); ${v.rounds} alternating rounds × ${v.iterations.toLocaleString('en-US')} iterations, after 3 warm-up rounds; wall time`,
    `verify cross-check in CPU time (not inflated by preemption on a shared machine): ${fmt(v.verifyCpuNs, 0)} vs ${fmt(v.floorCpuNs, 0)} ns/op = ${fmt(v.verifyCpuNs / v.floorCpuNs, 2)}×`,
  );
}

if (args.only !== 'verify') {
  const h = await httpBench();
  const tp = h.keyward.requestsPerSecond / h.baseline.requestsPerSecond;
  const p50 = h.keyward.p50 / h.baseline.p50;
  const p99 = h.keyward.p99 / h.baseline.p99;
  const tpMet = tp >= GOALS.throughput;
  const p99Met = p99 <= GOALS.p99;
  allMet &&= tpMet && p99Met;
  rows.push(
    [
      'HTTP POST /v1/keys/verify throughput (req/s)',
      fmt(h.keyward.requestsPerSecond, 0),
      fmt(h.baseline.requestsPerSecond, 0),
      ratioText(tp, GOALS.throughput),
      `≥ ${fmt(GOALS.throughput, 2)}×`,
      yes(tpMet),
    ],
    ['HTTP latency p50 (ms)', fmt(h.keyward.p50, 2), fmt(h.baseline.p50, 2), ratioText(p50), '—', '—'],
    [
      'HTTP latency p99 (ms)',
      fmt(h.keyward.p99, 2),
      fmt(h.baseline.p99, 2),
      ratioText(p99, GOALS.p99),
      `≤ ${fmt(GOALS.p99, 2)}×`,
      yes(p99Met),
    ],
  );
  rows.push([
    'Server CPU per request (µs, user + system)',
    fmt(h.keyward.cpuPerRequestUs, 1),
    fmt(h.baseline.cpuPerRequestUs, 1),
    ratioText(h.keyward.cpuPerRequestUs / h.baseline.cpuPerRequestUs),
    '—',
    '—',
  ]);
  notes.push(
    `http baseline: plain Fastify hello world (POST /, JSON body); each server in its own child process, ${LOAD.connections} connections, ${LOAD.warmupSeconds} s warm-up each, then ${LOAD.slices * LOAD.sliceSeconds} s measured each in ${LOAD.slices} alternating slices of ${LOAD.sliceSeconds} s`,
    `server CPU per request is a cross-check, not a goal: when the throughput ratio and the CPU ratio disagree a lot, something else was using the CPUs`,
  );
  for (const [name, r] of [
    ['Keyward', h.keyward],
    ['baseline', h.baseline],
  ]) {
    if (r.non2xx || r.errors || r.timeouts)
      notes.push(`WARNING ${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nKeyward benchmarks${quick ? ' (--quick: short runs, figures are a sanity check only)' : ''}` +
    `\n${started.toISOString()} · Node ${process.versions.node} · ${availableParallelism()} cores · ${cpu}\n`,
);
console.log(table(rows));
console.log('');
for (const n of notes) console.log(`- ${n}`);
console.log(`\n${allMet ? 'All goals met.' : 'Some goals are NOT met.'}`);
