// The client side of the HTTP benchmarks: starts the server children and drives them with autocannon.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { percentile } from './stats.js';

const SERVER = new URL('./http-server.js', import.meta.url);

/**
 * The Node.js flags `npm start` gives the server (package.json), given here to every server
 * process, the hello world's included: the servers run as Keyward is run, and both sides of a
 * ratio alike.
 */
export const SERVER_NODE_FLAGS = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('bin/keyward.js')).filter((w) => w.startsWith('--'));
})();

/**
 * A `POST /v1/keys/verify` target on a Keyward server that startServer started, authenticated
 * with its root key; `fields` are the rest of the target: `body` (one fixed body), `nextBody`,
 * `expect`, `amount`, `probes` (see Target).
 * @param {{ url: string, rootKey: string }} server
 * @param {Partial<Target>} fields
 */
export function verifyTarget(server, fields) {
  return {
    server,
    url: `${server.url}/v1/keys/verify`,
    method: 'POST',
    headers: { authorization: `Bearer ${server.rootKey}`, 'content-type': 'application/json' },
    ...fields,
  };
}

/**
 * Starts `bench/http-server.js <which> [options]` and resolves with its ready message, `cpu()`,
 * `command()` and `stop()`. A server that exits before it is ready is started once more: on a
 * PostgreSQL shared with other test runs, Keyward's start-up migration check can fail when another
 * run drops its schema at that moment (docs/benchmarks.md, "Found on the way").
 * @param {'node' | 'baseline' | 'schema' | 'keyward' | 'join'} which
 * @param {{ profileDir?: string, options?: object }} [opts]
 */
export async function startServer(which, opts = {}) {
  try {
    return await startOnce(which, opts);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : err}; starting it once more\n`);
    return startOnce(which, opts);
  }
}

async function startOnce(which, { profileDir, options } = {}) {
  const execArgv = [
    ...SERVER_NODE_FLAGS,
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
  ];
  const args = options ? [which, JSON.stringify(options)] : [which];
  const child = fork(SERVER, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const ready = await Promise.race([
    once(child, 'message').then(([m]) => m),
    exited.then(([code]) => {
      throw new Error(`${which} server exited with ${code} before it was ready`);
    }),
  ]);
  /** The next IPC message that satisfies `accept`. */
  const next = async (accept) => {
    for (;;) {
      const [m] = await once(child, 'message');
      if (accept(m)) return m;
    }
  };
  return {
    ...ready,
    url: `http://127.0.0.1:${ready.port}`,
    /** The server's CPU time (user + system) so far, in µs. */
    async cpu() {
      child.send('cpu');
      return (await next((m) => typeof m?.cpu === 'number')).cpu;
    },
    /** The server's main thread's CPU time so far in µs (10 ms ticks), or null off Linux. */
    async mainThreadCpu() {
      child.send('mainThreadCpu');
      return (await next((m) => m !== null && typeof m === 'object' && 'mainThreadCpu' in m)).mainThreadCpu;
    },
    /** Runs a command of bench/http-server.js in the child and resolves with its reply. */
    async command(message) {
      const reply = next((m) => m?.reply === message.cmd);
      child.send(message);
      const m = await reply;
      if (m.error) throw new Error(`server command ${message.cmd} failed: ${m.error}`);
      return m;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function cannon(opts, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on('response', onResponse);
  });
}

/**
 * @typedef {object} Target
 * @property {{ cpu(): Promise<number> }} server
 * @property {string} url
 * @property {string} method
 * @property {object} headers
 * @property {string} [body] the same body for every request
 * @property {() => string} [nextBody] a body per request (e.g. a different key each time)
 * @property {string} [expect] every 2xx body must contain this (else it counts as `unexpected`)
 * @property {{ warmup: number, slice: number }} [amount] a fixed number of requests per slice
 *   instead of a fixed duration (a cold-cache target has only so many fresh keys)
 * @property {Record<string, () => Promise<number>>} [probes] CPU time (µs so far) of other
 *   processes the target uses, e.g. Redis; reported per request like the server's
 * @property {string} [pool] targets with the same pool (several processes of one server) are
 *   measured each in turn and reported as one: a process runs at one of two speeds for its whole
 *   life (docs/benchmarks.md), so one process per side makes a comparison of two draws
 */

/** One autocannon run against `target`, collecting every response time and the server's CPU time. */
async function slice(target, { seconds, amount }, connections, into) {
  const url = new URL(target.url);
  const opts = {
    url: target.url,
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections,
    pipelining: 1,
    ...(amount !== undefined ? { amount } : { duration: seconds }),
  };
  if (target.nextBody || target.expect) {
    const request = { method: target.method, path: url.pathname };
    if (target.nextBody) request.setupRequest = (req) => ({ ...req, body: target.nextBody() });
    if (target.expect) {
      const expected = target.expect;
      request.onResponse = (status, body) => {
        if (status >= 200 && status < 300 && !body.includes(expected)) into.unexpected++;
      };
    }
    opts.requests = [request];
  }
  const cpuBefore = await target.server.cpu();
  const probes = Object.entries(target.probes ?? {});
  const probesBefore = await Promise.all(probes.map(([, probe]) => probe()));
  // Elapsed time is taken here, not from autocannon: it reports whole seconds of its sampling
  // tick, which for a fixed `amount` of requests overstates the time by up to a second.
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  let last = t0;
  const result = await cannon(opts, (_client, status, _bytes, ms) => {
    last = performance.now();
    into.responses++;
    const code = Number(status);
    if (code < 200 || code >= 300) {
      into.statuses[code] = (into.statuses[code] ?? 0) + 1;
      return;
    }
    if (into.count === into.times.length) {
      const grown = new Float64Array(into.times.length * 2);
      grown.set(into.times);
      into.times = grown;
    }
    into.times[into.count++] = ms;
  });
  const client = process.cpuUsage(client0);
  into.clientCpuUs += client.user + client.system;
  into.cpuUs += (await target.server.cpu()) - cpuBefore;
  for (const [i, [name, probe]] of probes.entries())
    into.probeUs[name] = (into.probeUs[name] ?? 0) + (await probe()) - (probesBefore[i] ?? 0);
  into.seconds += (last - t0) / 1000;
  into.non2xx += result.non2xx;
  into.errors += result.errors;
  into.timeouts += result.timeouts;
}

/**
 * Warms every target up (runs discarded), then measures them in alternating slices, in the
 * order ABC CBA ABC …, so that anything else the machine does during the run lands on all alike.
 * Latency percentiles are computed here from every 2xx response time of all slices (autocannon's
 * own histogram keeps whole milliseconds only); throughput is 2xx responses / measured seconds.
 * @param {Target[]} targets
 * @param {{ connections: number, warmupSeconds: number, slices: number, sliceSeconds: number }} load
 */
export async function measureAlternating(targets, load) {
  const fresh = () => ({
    times: new Float64Array(1 << 20),
    count: 0,
    responses: 0,
    cpuUs: 0,
    clientCpuUs: 0,
    probeUs: {},
    seconds: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    unexpected: 0,
    statuses: {},
  });
  const warm = targets.map(fresh);
  for (const [j, t] of targets.entries())
    await slice(t, { seconds: load.warmupSeconds, amount: t.amount?.warmup }, load.connections, warm[j]);
  const acc = targets.map(fresh);
  for (let i = 0; i < load.slices; i++) {
    const order = targets.map((_, j) => j);
    if (i % 2 === 1) order.reverse();
    for (const j of order) {
      const t = targets[j];
      await slice(t, { seconds: load.sliceSeconds, amount: t.amount?.slice }, load.connections, acc[j]);
    }
  }
  // Targets sharing a `pool` are one result: their slices summed, their response times merged.
  const pools = new Map();
  for (const [j, t] of targets.entries()) {
    const key = t.pool ?? j;
    if (!pools.has(key)) pools.set(key, []);
    pools.get(key).push(j);
  }
  return [...pools.values()].map((members) => {
    const a = members.length === 1 ? acc[members[0]] : mergeSlices(members.map((j) => acc[j]));
    const sorted = a.times.subarray(0, a.count).sort();
    return {
      requestsPerSecond: a.count / a.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpuPerRequestUs: a.cpuUs / Math.max(a.responses, 1),
      /** The load generator's CPU per request: when it nears the server's, the client is the bottleneck. */
      clientCpuPerRequestUs: a.clientCpuUs / Math.max(a.responses, 1),
      probesPerRequestUs: Object.fromEntries(
        Object.entries(a.probeUs).map(([name, us]) => [name, us / Math.max(a.responses, 1)]),
      ),
      ok: a.count,
      /** Every response autocannon counted (any status), measured slices and warm-up apart. */
      responses: a.responses,
      warmupResponses: members.reduce((n, m) => n + warm[m].responses, 0),
      seconds: a.seconds,
      non2xx: a.non2xx,
      errors: a.errors,
      timeouts: a.timeouts,
      unexpected: a.unexpected,
      statuses: a.statuses,
      /**
       * Each process of a pool on its own: requests per second, server CPU µs per request, and
       * the responses autocannon counted from it (measured slices and warm-up apart).
       */
      members: members.map((m) => ({
        requestsPerSecond: acc[m].count / acc[m].seconds,
        cpuPerRequestUs: acc[m].cpuUs / Math.max(acc[m].responses, 1),
        probesPerRequestUs: Object.fromEntries(
          Object.entries(acc[m].probeUs).map(([name, us]) => [name, us / Math.max(acc[m].responses, 1)]),
        ),
        responses: acc[m].responses,
        warmupResponses: warm[m].responses,
      })),
    };
  });
}

/** Several targets' measured slices as one: counters summed, response times concatenated. */
function mergeSlices(list) {
  const count = list.reduce((n, a) => n + a.count, 0);
  const times = new Float64Array(count);
  let at = 0;
  for (const a of list) {
    times.set(a.times.subarray(0, a.count), at);
    at += a.count;
  }
  const sum = (field) => list.reduce((n, a) => n + a[field], 0);
  const statuses = {};
  const probeUs = {};
  for (const a of list) {
    for (const [code, n] of Object.entries(a.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
    for (const [name, us] of Object.entries(a.probeUs)) probeUs[name] = (probeUs[name] ?? 0) + us;
  }
  return {
    times,
    count,
    responses: sum('responses'),
    cpuUs: sum('cpuUs'),
    clientCpuUs: sum('clientCpuUs'),
    probeUs,
    seconds: sum('seconds'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    unexpected: sum('unexpected'),
    statuses,
  };
}

/** One line per target with anything other than clean 2xx answers, for the notes. */
export function loadWarnings(named) {
  const out = [];
  for (const [name, r] of named) {
    if (r.non2xx || r.errors || r.timeouts || r.unexpected) {
      const codes = Object.entries(r.statuses)
        .map(([code, n]) => `${n}× ${code}`)
        .join(', ');
      out.push(
        `WARNING ${name}: ${r.non2xx} non-2xx${codes ? ` (${codes})` : ''}, ${r.errors} errors, ${r.timeouts} timeouts${r.unexpected ? `, ${r.unexpected} 2xx answers without the expected body` : ''}`,
      );
    }
  }
  return out;
}
