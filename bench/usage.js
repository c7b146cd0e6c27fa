// Issue 5: HTTP verification with usage recording and two alert rules on, against the same with
// recording off (KEYWARD_USAGE_RECORDING=off), same run; and the usage events lost at full load:
// `keyward_usage_events_dropped_total` after the run, and the requests autocannon completed
// against the sum of the key's `GET /v1/keys/{id}/usage` totals once everything is flushed.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverEnv } from './backing.js';
import { loadWarnings, measureAlternating, startServer, verifyTarget } from './http-load.js';

/** Requests per second of run time the fixed-amount runs are sized for (about this machine's). */
const PER_SECOND = 20_000;

/** Two rules over the whole workspace, evaluated on every flushed batch; neither fires under load. */
const RULES = [
  {
    name: 'bench failures',
    condition: { type: 'threshold', metric: 'failures', count: 1_000_000, windowSeconds: 60 },
    actions: ['notify'],
  },
  { name: 'bench new ip', condition: { type: 'new_ip' }, actions: ['notify'] },
];

async function api(server, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.rootKey}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status} ${text}`);
  return text;
}

/** `name` → value of every unlabelled sample, and `name` → sum over labels for labelled ones. */
async function metrics(server) {
  const out = {};
  for (const line of (await api(server, 'GET', '/metrics')).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
  }
  return out;
}

/** Waits until the recorder's queue is empty and nothing more is stored for two flush intervals. */
async function settle(server) {
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const m = await metrics(server);
    const stored = m.keyward_usage_events_stored_total ?? 0;
    if ((m.keyward_usage_queue_depth ?? 0) === 0 && stored === last) return m;
    last = stored;
    await sleep(1_200);
  }
  return metrics(server);
}

async function usageTotal(server, keyId) {
  const r = JSON.parse(await api(server, 'GET', `/v1/keys/${keyId}/usage?granularity=hour`));
  return r.series.reduce((sum, p) => sum + p.total, 0);
}

/**
 * `processes` servers per side, pooled (a process runs at one of two speeds for its life,
 * docs/benchmarks.md): the figure is the pools' throughputs, and the lost-event check is made on
 * every recording server and summed.
 * @param {{ load: object, processes: number, profileDir?: string, log(line: string): void }} opts
 */
export async function runUsageBench({ load, processes, profileDir, log }) {
  const servers = { off: [], on: [] };
  try {
    log(`usage: starting ${processes} Keyward servers on SQLite per side (usage recording off, on)…`);
    // Started alternately, so that neither side gets all the early (or late) processes.
    for (let i = 0; i < processes; i++) {
      for (const recording of ['off', 'on']) {
        const server = await startServer('keyward', {
          profileDir: profileDir && join(profileDir, `recording-${recording}`),
          options: { env: serverEnv({ KEYWARD_USAGE_RECORDING: recording }) },
        });
        servers[recording].push(server);
        for (const rule of RULES) await api(server, 'POST', '/v1/alert-rules', rule);
        const answer = JSON.parse(await api(server, 'POST', '/v1/keys/verify', { key: server.key }));
        if (answer.valid !== true) throw new Error(`verify answered ${JSON.stringify(answer)}`);
      }
    }
    const target = (server, pool) =>
      verifyTarget(server, {
        body: JSON.stringify({ key: server.key }),
        expect: '"valid":true',
        pool,
        // A fixed number of requests per run, not a duration: a timed autocannon run stops counting
        // with its connections' last requests still in flight (served and recorded, never counted),
        // so its count could not be compared with the usage totals.
        amount: { warmup: PER_SECOND * load.warmupSeconds, slice: PER_SECOND * load.sliceSeconds },
      });
    log(
      `usage: ${(PER_SECOND * load.warmupSeconds).toLocaleString('en-US')} requests of warm-up each, then ${load.slices} alternating slices of ${(PER_SECOND * load.sliceSeconds).toLocaleString('en-US')} requests per process…`,
    );
    const targets = servers.off.flatMap((off, i) => [target(off, 'off'), target(servers.on[i], 'on')]);
    const [offResult, onResult] = await measureAlternating(targets, load);
    const totals = {
      sent: 0,
      used: 0,
      verifications: 0,
      dropped: 0,
      stored: 0,
      queueAtEnd: 0,
      flushFailures: 0,
    };
    // Right after the load, before any of them has had time to settle.
    const atEnd = await Promise.all(servers.on.map((on) => metrics(on)));
    for (const [i, on] of servers.on.entries()) {
      const settled = await settle(on);
      const member = onResult.members[i];
      // Every verification of this recording server: the check above, then autocannon's.
      totals.sent += 1 + member.warmupResponses + member.responses;
      totals.used += await usageTotal(on, on.keys.key.id);
      totals.verifications += settled.keyward_verifications_total ?? Number.NaN;
      totals.dropped += settled.keyward_usage_events_dropped_total ?? Number.NaN;
      totals.stored += settled.keyward_usage_events_stored_total ?? Number.NaN;
      totals.queueAtEnd = Math.max(totals.queueAtEnd, atEnd[i]?.keyward_usage_queue_depth ?? Number.NaN);
      totals.flushFailures += settled.keyward_usage_flush_failures_total ?? 0;
    }
    return {
      off: offResult,
      on: onResult,
      processes,
      ...totals,
      warnings: loadWarnings([
        ['usage recording on', onResult],
        ['usage recording off', offResult],
      ]),
    };
  } finally {
    for (const s of [...servers.off, ...servers.on]) await s.stop();
  }
}
