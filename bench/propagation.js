// Issue 3: how long after a revocation on node 1 does node 2 stop answering VALID? Two Keyward
// server processes on one PostgreSQL schema and one Redis; node 2's cache is warm (so only the
// Redis invalidation can make it answer REVOKED). For each key, one at a time: revoke on node 1,
// then poll node 2 back to back until it answers REVOKED; the delay runs from node 1's answer to
// node 2's REVOKED answer. Its floor is one verify round trip on node 2, measured just before each
// revocation as the baseline.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createSchema, newMasterKey, REDIS_URL, serverEnv } from './backing.js';
import { startServer } from './http-load.js';
import { percentile } from './stats.js';

const GIVE_UP_MS = 5_000;

/** One JSON call on a kept-alive connection; resolves with status and parsed body. */
function call(agent, base, rootKey, path, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        agent,
        method: 'POST',
        headers: {
          authorization: `Bearer ${rootKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function verifyCode(agent, node, rootKey, key) {
  const r = await call(agent, node.url, rootKey, '/v1/keys/verify', { key });
  if (r.status !== 200)
    throw new Error(`verify on ${node.url} answered ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

/** Redis pub/sub delivery between two connections in this process: the floor of any bus. */
async function pubSubDelay(count) {
  const pub = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  const channel = `kw_bench_pubsub_${process.pid}`;
  try {
    await sub.subscribe(channel);
    const delays = [];
    for (let i = 0; i < count; i++) {
      const got = new Promise((resolve) => sub.once('message', () => resolve(performance.now())));
      const t0 = performance.now();
      await pub.publish(channel, String(i));
      delays.push((await got) - t0);
    }
    return delays.sort((a, b) => a - b);
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
}

/**
 * @param {{ revocations: number, log(line: string): void }} opts
 */
export async function runPropagationBench({ revocations, log }) {
  const schema = await createSchema();
  const env = serverEnv({
    KEYWARD_DATABASE_URL: schema.url,
    KEYWARD_REDIS_URL: REDIS_URL,
    KEYWARD_MASTER_KEY: newMasterKey(),
  });
  const nodes = [];
  const agents = [
    new Agent({ keepAlive: true, maxSockets: 1 }),
    new Agent({ keepAlive: true, maxSockets: 1 }),
  ];
  try {
    log(`propagation: two nodes on PostgreSQL schema ${schema.name} + Redis…`);
    const n1 = await startServer('keyward', { options: { env } });
    nodes.push(n1);
    const n2 = await startServer('join', { options: { env } });
    nodes.push(n2);
    const root = n1.rootKey;
    // One extra key stays valid: node 2 verifies it before each revocation (the baseline).
    const { keys } = await n1.command({ cmd: 'keys', count: revocations + 1 });
    const control = keys.pop();
    log(`propagation: warming node 2's cache with ${keys.length} keys, then ${keys.length} revocations…`);
    for (const k of [...keys, control]) {
      const code = await verifyCode(agents[1], n2, root, k.key);
      if (code !== 'VALID') throw new Error(`node 2 answered ${code} for a fresh key`);
    }
    const delays = [];
    const roundTrips = [];
    let stale = 0;
    let polls = 0;
    for (const k of keys) {
      const r0 = performance.now();
      const controlCode = await verifyCode(agents[1], n2, root, control.key);
      roundTrips.push(performance.now() - r0);
      if (controlCode !== 'VALID') throw new Error(`node 2 answered ${controlCode} for the control key`);
      const revoked = await call(agents[0], n1.url, root, `/v1/keys/${k.id}/revoke`, { reason: 'bench' });
      if (revoked.status !== 200) throw new Error(`revoke answered ${revoked.status}`);
      const t0 = performance.now();
      for (let attempt = 0; ; attempt++) {
        const code = await verifyCode(agents[1], n2, root, k.key);
        polls++;
        const elapsed = performance.now() - t0;
        if (code === 'REVOKED') {
          if (attempt > 0) stale++;
          delays.push(elapsed);
          break;
        }
        if (code !== 'VALID') throw new Error(`node 2 answered ${code} for a key being revoked`);
        if (elapsed > GIVE_UP_MS) throw new Error(`node 2 still answers VALID after ${GIVE_UP_MS} ms`);
      }
    }
    delays.sort((a, b) => a - b);
    roundTrips.sort((a, b) => a - b);
    const pubsub = await pubSubDelay(Math.min(500, revocations * 2));
    return {
      count: delays.length,
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: delays.at(-1),
      rtP50: percentile(roundTrips, 50),
      rtP99: percentile(roundTrips, 99),
      pubsubP50: percentile(pubsub, 50),
      pubsubP99: percentile(pubsub, 99),
      stale,
      polls,
      schema: schema.name,
    };
  } finally {
    for (const a of agents) a.destroy();
    for (const n of nodes) await n.stop();
    await schema.drop();
  }
}
