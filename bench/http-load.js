// The client side of benchmark 2: starts the server children and drives them with autocannon.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { percentile } from './stats.js';

const SERVER = new URL('./http-server.js', import.meta.url);

/** Starts `bench/http-server.js <which>` and resolves with its ready message and a stop(). */
export async function startServer(which, { profileDir } = {}) {
  const execArgv = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = fork(SERVER, [which], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const ready = await Promise.race([
    once(child, 'message').then(([m]) => m),
    exited.then(([code]) => {
      throw new Error(`${which} server exited with ${code} before it was ready`);
    }),
  ]);
  return {
    ...ready,
    url: `http://127.0.0.1:${ready.port}`,
    /** The server's CPU time (user + system) so far, in µs. */
    async cpu() {
      child.send('cpu');
      for (;;) {
        const [m] = await once(child, 'message');
        if (typeof m?.cpu === 'number') return m.cpu;
      }
    },
    async stop() {
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

/** One autocannon run against `target`, collecting every response time and the server's CPU time. */
async function slice(target, seconds, connections, into) {
  const cpuBefore = await target.server.cpu();
  const result = await cannon(
    {
      url: target.url,
      method: target.method,
      headers: target.headers,
      body: target.body,
      connections,
      pipelining: 1,
      duration: seconds,
    },
    (_client, status, _bytes, ms) => {
      into.responses++;
      const code = Number(status);
      if (code < 200 || code >= 300) return;
      if (into.count === into.times.length) {
        const grown = new Float64Array(into.times.length * 2);
        grown.set(into.times);
        into.times = grown;
      }
      into.times[into.count++] = ms;
    },
  );
  into.cpuUs += (await target.server.cpu()) - cpuBefore;
  into.seconds += result.duration;
  into.non2xx += result.non2xx;
  into.errors += result.errors;
  into.timeouts += result.timeouts;
}

/**
 * Warms both targets up (runs discarded), then measures them in alternating slices, in the order
 * AB BA AB …, so that anything else the machine does during the run lands on both alike.
 * Latency percentiles are computed here from every 2xx response time of all slices (autocannon's
 * own histogram keeps whole milliseconds only); throughput is 2xx responses / measured seconds.
 * @param {Array<{ url: string, method: string, headers: object, body: string, server: { cpu(): Promise<number> } }>} targets
 * @param {{ connections: number, warmupSeconds: number, slices: number, sliceSeconds: number }} load
 */
export async function measureAlternating(targets, load) {
  const fresh = () => ({
    times: new Float64Array(1 << 20),
    count: 0,
    responses: 0,
    cpuUs: 0,
    seconds: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
  });
  for (const t of targets) await slice(t, load.warmupSeconds, load.connections, fresh());
  const acc = targets.map(fresh);
  for (let i = 0; i < load.slices; i++) {
    const order = targets.map((_, j) => j);
    if (i % 2 === 1) order.reverse();
    for (const j of order) await slice(targets[j], load.sliceSeconds, load.connections, acc[j]);
  }
  return acc.map((a) => {
    const sorted = a.times.subarray(0, a.count).sort();
    return {
      requestsPerSecond: a.count / a.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpuPerRequestUs: a.cpuUs / Math.max(a.responses, 1),
      ok: a.count,
      seconds: a.seconds,
      non2xx: a.non2xx,
      errors: a.errors,
      timeouts: a.timeouts,
    };
  });
}
