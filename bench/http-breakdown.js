// Diagnosis, not a goal: where the HTTP verification's server time goes, from the Fastify hello
// world (issue 2's baseline) to Keyward as `npm start` runs it, one step at a time, all measured
// in one run in alternating slices (bench/http-load.js). `npm run build` first, then
// `node bench/http-breakdown.js [--quick]`.
//   Node.js hello world
//                     node:http alone, the same answer (what Fastify adds to the baseline)
//   hello world       plain Fastify, POST / answering {"hello":"world"} (the baseline)
//   verify schemas    Fastify with Keyward's request id, validator and verify request/response
//                     schemas, answering a fixed body of the same size: the framework's share
//   Keyward, no logger, no usage
//                     Keyward's POST /v1/keys/verify on a cached key, usage recording off, and
//                     the app built without a logger
//   Keyward, no usage the same with `npm start`'s logger (to /dev/null)
//   Keyward           the same with usage recording on (bench/run.js's target)
//   Keyward, defaults also the per-root-key limit (KEYWARD_ROOT_KEY_RATE_LIMIT, on by default)
//   Keyward, writes not coalesced
//                     bench/run.js's target with KEYWARD_WRITE_COALESCING=off: each response
//                     sent as it is finished (docs/architecture.md, "Request flow")
//   hello world, writes coalesced
//                     the baseline with Keyward's write coalescing: what it would give the
//                     hello world (the goal's baseline is the plain one above)
//   Keyward process, Node.js hello world
//                     a Keyward server (usage recording off, so that no writer thread catches
//                     up on earlier slices) answering the Node.js hello world outside Fastify:
//                     what being the Keyward process (its heap, threads and timers) costs a
//                     request that does none of Keyward's work
// Besides the process's CPU time, each step's main thread's (Linux; 10 ms ticks): the rest is
// the other threads, the usage writer's and the garbage collector's helpers.
import { parseArgs } from 'node:util';
import { serverEnv } from './backing.js';
import {
  loadWarnings,
  measureAlternating,
  SERVER_NODE_FLAGS,
  startServer,
  verifyTarget,
} from './http-load.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const LOAD = args.quick
  ? { connections: 50, warmupSeconds: 1, slices: 2, sliceSeconds: 1 }
  : { connections: 50, warmupSeconds: 2, slices: 5, sliceSeconds: 2 };

const log = (line) => process.stderr.write(`${line}\n`);
const JSON_TYPE = { 'content-type': 'application/json' };

const STEPS = [
  { name: 'Node.js hello world', which: 'node' },
  { name: 'hello world', which: 'baseline' },
  { name: 'verify schemas', which: 'schema' },
  {
    name: 'Keyward, no logger, no usage',
    which: 'keyward',
    env: serverEnv({ KEYWARD_USAGE_RECORDING: 'off' }),
    logger: false,
  },
  { name: 'Keyward, no usage', which: 'keyward', env: serverEnv({ KEYWARD_USAGE_RECORDING: 'off' }) },
  { name: 'Keyward', which: 'keyward', env: serverEnv() },
  { name: 'Keyward, defaults', which: 'keyward', env: {} },
  {
    name: 'Keyward, writes not coalesced',
    which: 'keyward',
    env: serverEnv({ KEYWARD_WRITE_COALESCING: 'off' }),
    variant: true,
  },
  { name: 'hello world, writes coalesced', which: 'baseline', coalesce: true, variant: true },
  {
    name: 'Keyward process, Node.js hello world',
    which: 'keyward',
    env: serverEnv({ KEYWARD_USAGE_RECORDING: 'off' }),
    helloWorld: true,
    variant: true,
  },
];
const BASELINE = STEPS.findIndex((step) => step.which === 'baseline' && !step.variant);
const HELLO_BODY = '{"hello":"world"}';

log(`http-breakdown: starting ${STEPS.length} servers…`);
const servers = [];
try {
  for (const step of STEPS) {
    const options =
      step.env || step.coalesce
        ? { env: step.env, logger: step.logger, helloWorld: step.helloWorld, coalesce: step.coalesce }
        : undefined;
    servers.push(await startServer(step.which, options ? { options } : {}));
  }
  const targets = STEPS.map((step, i) => {
    const server = servers[i];
    const probes = { main: () => server.mainThreadCpu() };
    if (step.helloWorld)
      return {
        server,
        probes,
        url: `${server.url}/hello-world`,
        method: 'POST',
        headers: JSON_TYPE,
        body: HELLO_BODY,
      };
    if (step.which === 'keyward')
      return { ...verifyTarget(server, { body: JSON.stringify({ key: server.key }) }), probes };
    return {
      server,
      probes,
      url: `${server.url}/`,
      method: 'POST',
      headers: JSON_TYPE,
      body: step.which === 'schema' ? JSON.stringify({ key: `kw_${'a'.repeat(38)}` }) : HELLO_BODY,
    };
  });
  for (const t of targets) {
    const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
    const text = await res.text();
    if (res.status !== 200 || (t.url.endsWith('/verify') && !text.includes('"code":"VALID"')))
      throw new Error(`${t.url} answered ${res.status} ${text}`);
  }
  log(
    `http-breakdown: ${LOAD.warmupSeconds} s warm-up each, then ${LOAD.slices} alternating slices of ${LOAD.sliceSeconds} s each…`,
  );
  const results = await measureAlternating(targets, LOAD);
  const base = results[BASELINE];
  console.log(
    `\nHTTP verification, step by step (${LOAD.connections} connections; every server with ${SERVER_NODE_FLAGS.join(' ') || 'no Node.js flags'}; ${new Date().toISOString()})\n`,
  );
  console.log(
    '| Step | req/s | vs hello world | p99 ms | server CPU µs/request | main thread | other threads | added by the step |',
  );
  console.log('|:--|--:|--:|--:|--:|--:|--:|--:|');
  for (const [i, r] of results.entries()) {
    // A variant adds nothing to the step before it: it changes an earlier step.
    const added =
      i === 0 || STEPS[i].variant
        ? '—'
        : `${(r.cpuPerRequestUs - results[i - 1].cpuPerRequestUs).toFixed(1)}`;
    // Off Linux the probe reads null and the difference is not a number.
    const main = r.probesPerRequestUs.main;
    const threads = Number.isFinite(main)
      ? `${main.toFixed(1)} | ${(r.cpuPerRequestUs - main).toFixed(1)}`
      : '— | —';
    console.log(
      `| ${STEPS[i].name} | ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} | ${(r.requestsPerSecond / base.requestsPerSecond).toFixed(2)}× | ${r.p99.toFixed(2)} | ${r.cpuPerRequestUs.toFixed(1)} | ${threads} | ${added} |`,
    );
  }
  for (const w of loadWarnings(results.map((r, i) => [STEPS[i].name, r]))) console.log(`\n${w}`);
} finally {
  for (const s of servers) await s.stop();
}
