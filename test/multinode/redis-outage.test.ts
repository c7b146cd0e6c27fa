import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, redisUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  freePort,
  type KeywardNode,
  mapLimit,
  metricsText,
  metricValue,
  type Proc,
  percentile,
  readyz,
  startNode,
  startRedis,
  TcpProxy,
  verifyCode,
  waitFor,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
// The shared Redis is only a signal that Redis suites should run: this file starts its own
// redis-server on a free port and kills it, so the shared one is never disturbed.
const sharedRedis = redisUrl();

/**
 * Fail safe, not fail stale: while Redis is down a node cannot hear invalidations, so it must
 * stop trusting its cache. Two real nodes, warm caches, Redis killed mid-test: no key revoked on
 * node 1 may ever verify VALID on either node.
 */
describe.skipIf(!pg || !sharedRedis)('two nodes when Redis goes down and comes back', () => {
  let schema: TestSchema;
  let redisPort: number;
  let redis: Proc | undefined;
  let n1: KeywardNode;
  let n2: KeywardNode;
  let root: string;
  let keys: { id: string; key: string }[] = [];
  let keyspaceId: string;

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    const common = {
      databaseUrl: schema.url,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      env: { KEYWARD_LOG_LEVEL: 'warn' },
    };
    n1 = await startNode(common);
    root = await waitFor('the bootstrap root key on node 1', () => n1.rootKey(), 5_000);
    n2 = await startNode(common);
    await Promise.all([waitReady(n1, 200), waitReady(n2, 200)]);
    keyspaceId = await createKeyspace(n1, root, 'outage');
    keys = await mapLimit(
      Array.from({ length: 100 }, (_, i) => i),
      4,
      (i) => createKey(n1, root, keyspaceId, { name: `k${i}` }),
    );
  });

  afterAll(async () => {
    await Promise.all([n1?.stop(), n2?.stop()]);
    await redis?.stop('SIGKILL');
    await schema?.drop();
  });

  it('never answers VALID for a revoked key while Redis is down, and recovers by itself', async () => {
    const duringOutage = keys.slice(0, 60);
    const afterRecovery = keys.slice(60, 80);
    const untouched = keys.slice(80);
    const nodes = [n1, n2];

    // Warm both caches with every key.
    for (const node of nodes)
      await mapLimit(keys, 4, async (k) => expect(await verifyCode(node, root, k.key)).toBe('VALID'));

    // From here on, a watcher verifies every revoked key on both nodes, over and over. A VALID
    // answer to a request sent after the revoke was acknowledged is a stale answer: the bug.
    const revokedAt = new Map<string, number>();
    const violations: string[] = [];
    const failures: string[] = [];
    let checks = 0;
    let watching = true;
    const watcher = async (node: KeywardNode) => {
      while (watching) {
        const batch = [...revokedAt.entries()];
        if (batch.length === 0) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        for (const [key, at] of batch) {
          if (!watching) break;
          const sent = performance.now();
          try {
            const r = await api(node, root, 'POST', '/v1/keys/verify', { key });
            checks++;
            if (r.status !== 200) failures.push(`${node.url}: ${r.status} ${JSON.stringify(r.body)}`);
            else if (r.body.code === 'VALID' && sent > at)
              violations.push(`${node.url} answered VALID ${(sent - at).toFixed(0)} ms after the revoke`);
          } catch (err) {
            failures.push(`${node.url}: ${String(err)}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }
    };
    const watchers = nodes.map((n) => watcher(n));
    try {
      // Redis dies abruptly.
      await redis?.stop('SIGKILL');
      redis = undefined;
      const downAt = performance.now();

      // Revocations on node 1 while Redis is down: acknowledged (the store is fine), and from
      // that moment neither node may answer VALID for them.
      for (const k of duringOutage) {
        const r = await api(n1, root, 'POST', `/v1/keys/${k.id}/revoke`, { reason: 'outage test' });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        revokedAt.set(k.key, performance.now());
        expect(await verifyCode(n2, root, k.key)).toBe('REVOKED');
        expect(await verifyCode(n1, root, k.key)).toBe('REVOKED');
      }

      // Both nodes report the outage; they keep answering, from the store.
      for (const node of nodes) {
        await waitReady(node, 503, 10_000);
        const body = (await readyz(node)).body;
        expect(body.checks.redis.status).toBe('down');
        expect(body.checks.store.status).toBe('up');
      }
      // Rate limits say they run on their fallback (a per-node share), in /readyz and a metric.
      for (const node of nodes)
        await waitFor(
          'rate limits on their fallback',
          async () => ((await readyz(node)).body.checks.ratelimits.status === 'fallback' ? true : undefined),
          10_000,
        );
      for (const k of untouched.slice(0, 5))
        for (const node of nodes) expect(await verifyCode(node, root, k.key)).toBe('VALID');
      // Keep Redis down past a few reconnection attempts while the watchers run.
      await waitFor(
        'the outage to last 2 s',
        () => (performance.now() - downAt > 2_000 ? true : undefined),
        5_000,
      );
      for (const node of nodes) expect(node.exited(), node.output()).toBe(false);

      // Redis comes back on the same port: both nodes resubscribe by themselves.
      redis = await startRedis(redisPort);
      const upAt = performance.now();
      await Promise.all(nodes.map((node) => waitReady(node, 200, 15_000)));
      for (const node of nodes) expect((await readyz(node)).body.checks.ratelimits.status).toBe('redis');
      const recovery = performance.now() - upAt;
      console.log(`[multinode] both nodes ready again ${recovery.toFixed(0)} ms after Redis restarted`);

      // Let the watchers run a little on the recovered nodes (their caches were dropped).
      const watchedUntil = checks + 4 * duringOutage.length;
      await waitFor(
        'more watcher checks after recovery',
        () => (checks >= watchedUntil ? true : undefined),
        20_000,
      );
    } finally {
      watching = false;
      await Promise.all(watchers);
    }
    console.log(`[multinode] ${checks} verifications of revoked keys during and after the outage`);
    expect(failures).toEqual([]);
    expect(violations).toEqual([]);
    expect(checks).toBeGreaterThan(duringOutage.length * 2);

    for (const node of nodes) {
      expect(node.exited(), node.output()).toBe(false);
      const metrics = await metricsText(node);
      expect(
        metricValue(metrics, 'keyward_dependency_state_changes_total', {
          dependency: 'redis',
          state: 'down',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        metricValue(metrics, 'keyward_dependency_state_changes_total', { dependency: 'redis', state: 'up' }),
      ).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, 'keyward_dependency_up', { dependency: 'redis' })).toBe(1);
      // What was revoked during the outage stays revoked.
      for (const k of duringOutage.slice(0, 10)) expect(await verifyCode(node, root, k.key)).toBe('REVOKED');
    }

    // Revocations after recovery propagate through Redis again: warm node 2, revoke on node 1.
    for (const k of afterRecovery) expect(await verifyCode(n2, root, k.key)).toBe('VALID');
    const delays: number[] = [];
    for (const k of afterRecovery) {
      const r = await api(n1, root, 'POST', `/v1/keys/${k.id}/revoke`, {});
      expect(r.status).toBe(200);
      const t0 = performance.now();
      for (;;) {
        const code = await verifyCode(n2, root, k.key);
        const elapsed = performance.now() - t0;
        if (code === 'REVOKED') {
          delays.push(elapsed);
          break;
        }
        expect(code).toBe('VALID');
        if (elapsed > 5_000) throw new Error(`node 2 still answers VALID 5 s after a revoke on node 1`);
      }
    }
    const sorted = delays.sort((a, b) => a - b);
    console.log(
      `[multinode] revoke propagation after recovery over ${sorted.length} keys: p50 ${percentile(sorted, 50).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
    );
    expect(sorted.at(-1)).toBeLessThan(1_000);
  });

  it('still reaches node 2 when only the publishing connections drop (Redis stays up)', async () => {
    // An idle-client timeout, a CLIENT KILL or a reset closes the connection a node publishes
    // on while its subscription (and every other node's) stays live: the invalidation must
    // still go out, not be lost while node 2 keeps serving its cached answer.
    await Promise.all([waitReady(n1, 200), waitReady(n2, 200)]);
    const admin = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: 1 });
    try {
      const items = await mapLimit(
        Array.from({ length: 10 }, (_, i) => i),
        4,
        (i) => createKey(n1, root, keyspaceId, { name: `pub-drop-${i}` }),
      );
      const delays: number[] = [];
      for (const k of items) {
        expect(await verifyCode(n2, root, k.key)).toBe('VALID');
        // Kills every normal client (the nodes' publishing connections), not the subscribers.
        expect(Number(await admin.client('KILL', 'TYPE', 'normal'))).toBeGreaterThanOrEqual(1);
        const r = await api(n1, root, 'POST', `/v1/keys/${k.id}/revoke`, {});
        expect(r.status).toBe(200);
        const t0 = performance.now();
        for (;;) {
          const code = await verifyCode(n2, root, k.key);
          const elapsed = performance.now() - t0;
          if (code === 'REVOKED') {
            delays.push(elapsed);
            break;
          }
          expect(code).toBe('VALID');
          if (elapsed > 5_000) throw new Error('node 2 still answers VALID 5 s after the revoke');
        }
      }
      const sorted = delays.sort((a, b) => a - b);
      console.log(
        `[multinode] revoke propagation with the publishing connection dropped, over ${sorted.length} keys: p50 ${percentile(sorted, 50).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
      );
      expect(sorted.at(-1)).toBeLessThan(1_000);
    } finally {
      admin.disconnect();
    }
  });

  it('a node partitioned from Redis (no reset, no answer) stops trusting its cache within seconds', async () => {
    // Node 3 reaches Redis through a proxy that turns into a black hole: its subscription looks
    // open but hears nothing. Its heartbeat (a PING each second) must notice, so that it reads the
    // store instead of serving a cached VALID for a key revoked on node 1.
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: redisPort });
    const n3 = await startNode({
      databaseUrl: schema.url,
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      env: { KEYWARD_LOG_LEVEL: 'warn' },
    });
    try {
      await Promise.all([waitReady(n1, 200), waitReady(n3, 200)]);
      const items = await mapLimit(
        Array.from({ length: 8 }, (_, i) => i),
        4,
        (i) => createKey(n1, root, keyspaceId, { name: `partition-${i}` }),
      );
      for (const k of items) expect(await verifyCode(n3, root, k.key)).toBe('VALID');

      await proxy.freeze();
      const frozenAt = performance.now();
      const delays: number[] = [];
      for (const k of items.slice(0, 4)) {
        expect((await api(n1, root, 'POST', `/v1/keys/${k.id}/revoke`, {})).status).toBe(200);
        const t0 = performance.now();
        for (;;) {
          const code = await verifyCode(n3, root, k.key);
          if (code === 'REVOKED') break;
          expect(code).toBe('VALID');
          if (performance.now() - t0 > 10_000)
            throw new Error('node 3 still answers VALID 10 s into the partition');
        }
        delays.push(performance.now() - t0);
      }
      console.log(
        `[multinode] partitioned node: revoked keys refused after ${delays.map((d) => d.toFixed(0)).join(', ')} ms`,
      );
      // One heartbeat period to send the PING, one to give up on it (2 s by design), and slack
      // for the timers of a loaded machine: still far inside the cache's 60 s lifetime.
      expect(Math.max(...delays)).toBeLessThan(5_000);
      await waitReady(n3, 503, 10_000);
      console.log(
        `[multinode] partitioned node not ready ${(performance.now() - frozenAt).toFixed(0)} ms in`,
      );

      // The partition heals (its connections are reset): node 3 resubscribes by itself and
      // hears invalidations again.
      await proxy.restore();
      await waitReady(n3, 200, 15_000);
      for (const k of items.slice(0, 4)) expect(await verifyCode(n3, root, k.key)).toBe('REVOKED');
      for (const k of items.slice(4)) expect(await verifyCode(n3, root, k.key)).toBe('VALID');
      for (const k of items.slice(4)) {
        expect((await api(n1, root, 'POST', `/v1/keys/${k.id}/revoke`, {})).status).toBe(200);
        const t0 = performance.now();
        const elapsed = await waitFor(
          'node 3 to answer REVOKED',
          async () =>
            (await verifyCode(n3, root, k.key)) === 'REVOKED' ? performance.now() - t0 : undefined,
          5_000,
          1,
        );
        expect(elapsed).toBeLessThan(1_000);
      }
      expect(n3.exited(), n3.output()).toBe(false);
    } finally {
      await n3.stop();
      await proxy.cut();
    }
  });
});
