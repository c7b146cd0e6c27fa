// Diagnosis, not a goal: where the HTTP verification's server time goes, from the Fastify hello
// world (issue 2's baseline) to Keyward as `npm start` runs it, one step at a time, all measured
// in one run in alternating slices (bench/http-load.js). `npm run build` first, then
// `node bench/http-breakdown.js [--quick]`.
//   hello world       plain Fastify, POST / answering {"hello":"world"} (the baseline)
//   verify schemas    Fastify with Keyward's request id, validator and verify request/response
//                     schemas, answering a fixed body of the same size: the framework's share
//   Keyward, no logger, no usage
//                     Keyward's POST /v1/keys/verify on a cached key, usage recording off, and
//                     the app built without a logger
//   Keyward, no usage the same with `npm start`'s logger (to /dev/null)
//   Keyward           the same with usage recording on (bench/run.js's target)
//   Keyward, defaults also the per-root-key limit (KEYWARD_ROOT_KEY_RATE_LIMIT, on by default)
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

const STEPS = [
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
];

log(`http-breakdown: starting ${STEPS.length} servers…`);
const servers = [];
try {
  for (const step of STEPS)
    servers.push(
      await startServer(step.which, step.env ? { options: { env: step.env, logger: step.logger } } : {}),
    );
  const targets = STEPS.map((step, i) => {
    const server = servers[i];
    if (step.which === 'keyward') return verifyTarget(server, { body: JSON.stringify({ key: server.key }) });
    return {
      server,
      url: `${server.url}/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: step.which === 'baseline' ? '{"hello":"world"}' : JSON.stringify({ key: `kw_${'a'.repeat(38)}` }),
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
  const base = results[0];
  console.log(
    `\nHTTP verification, step by step (${LOAD.connections} connections; every server with ${SERVER_NODE_FLAGS.join(' ') || 'no Node.js flags'}; ${new Date().toISOString()})\n`,
  );
  console.log('| Step | req/s | vs hello world | p99 ms | server CPU µs/request | added by the step |');
  console.log('|:--|--:|--:|--:|--:|--:|');
  for (const [i, r] of results.entries()) {
    const added = i === 0 ? '—' : `${(r.cpuPerRequestUs - results[i - 1].cpuPerRequestUs).toFixed(1)}`;
    console.log(
      `| ${STEPS[i].name} | ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} | ${(r.requestsPerSecond / base.requestsPerSecond).toFixed(2)}× | ${r.p99.toFixed(2)} | ${r.cpuPerRequestUs.toFixed(1)} | ${added} |`,
    );
  }
  for (const w of loadWarnings(results.map((r, i) => [STEPS[i].name, r]))) console.log(`\n${w}`);
} finally {
  for (const s of servers) await s.stop();
}
