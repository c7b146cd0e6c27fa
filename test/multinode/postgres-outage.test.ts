import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, redisUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  freePort,
  type KeywardNode,
  metricsText,
  metricValue,
  readyz,
  spawnNode,
  startNode,
  TcpProxy,
  tempDir,
  verifyCode,
  waitFor,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
const redis = redisUrl();
const PASSWORD = 's3cretpw';

/** `url` with its host and port replaced (and a password added, which trust auth ignores). */
function through(url: string, port: number, password?: string): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  if (password) u.password = password;
  return u.toString();
}

function expectUnavailable(r: { status: number; body: any; contentType: string }) {
  expect(r.status, JSON.stringify(r.body)).toBe(503);
  expect(r.contentType).toContain('application/problem+json');
  expect(r.body.code).toBe('SERVICE_UNAVAILABLE');
  expect(r.body.status).toBe(503);
}

/**
 * A node cut off from PostgreSQL by a TCP proxy in this process: it answers 503 problems (never
 * VALID, never a crash) while the database is unreachable, and recovers by itself.
 */
describe.skipIf(!pg || !redis)('a node when PostgreSQL becomes unreachable', () => {
  let schema: TestSchema;
  let proxy: TcpProxy;
  let node: KeywardNode;
  let root: string;
  let keyspaceId: string;

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    const target = new URL(pg as string);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    node = await startNode({
      // The password is ignored by trust auth; it is there to prove it never reaches the logs.
      databaseUrl: through(schema.url, proxy.port, PASSWORD),
      redisUrl: redis as string,
      env: { KEYWARD_LOG_LEVEL: 'debug', KEYWARD_DATABASE_POOL_SIZE: '4' },
    });
    root = await waitFor('the bootstrap root key', () => node.rootKey(), 5_000);
    await waitReady(node, 200);
    keyspaceId = await createKeyspace(node, root, 'pg-outage');
  });

  afterAll(async () => {
    await node?.stop();
    await proxy?.cut();
    await schema?.drop();
  });

  it('answers 503 while the database is cut off, and recovers without a restart', async () => {
    const uncached = await Promise.all(Array.from({ length: 8 }, () => createKey(node, root, keyspaceId)));
    const later = await createKey(node, root, keyspaceId);
    expect(proxy.connections).toBeGreaterThan(0);

    await proxy.cut();

    // Keys the node has not cached: a 503 problem every time, never VALID.
    for (const k of uncached)
      expectUnavailable(await api(node, root, 'POST', '/v1/keys/verify', { key: k.key }));
    // Management calls too.
    expectUnavailable(await api(node, root, 'POST', '/v1/keyspaces', { name: 'during-outage' }));
    expectUnavailable(await api(node, root, 'POST', `/v1/keys/${uncached[0]!.id}/revoke`, {}));
    expectUnavailable(await api(node, root, 'GET', `/v1/keys/${uncached[0]!.id}`));

    const ready = await readyz(node);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.store.status).toBe('down');
    expect(ready.body.checks.redis.status).toBe('up');
    // A few more rounds against a pool that keeps failing to connect.
    for (let i = 0; i < 3; i++) {
      expectUnavailable(await api(node, root, 'POST', '/v1/keys/verify', { key: uncached[i]!.key }));
      expect((await readyz(node)).status).toBe(503);
    }
    expect(node.exited(), node.output()).toBe(false);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);

    await proxy.restore();

    const took = await waitReady(node, 200, 15_000);
    console.log(`[multinode] node ready again ${took} ms after PostgreSQL came back`);
    // Nothing was applied while the database was away: the revoke attempt left the key valid.
    expect(await verifyCode(node, root, uncached[0]!.key)).toBe('VALID');
    expect(await verifyCode(node, root, later.key)).toBe('VALID');
    for (const k of uncached) expect(await verifyCode(node, root, k.key)).toBe('VALID');
    const created = await api(node, root, 'POST', '/v1/keyspaces', { name: 'after-outage' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const revoked = await api(node, root, 'POST', `/v1/keys/${later.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(await verifyCode(node, root, later.key)).toBe('REVOKED');

    const metrics = await metricsText(node);
    expect(
      metricValue(metrics, 'keyward_dependency_state_changes_total', { dependency: 'store', state: 'down' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'keyward_dependency_up', { dependency: 'store' })).toBe(1);

    expect(node.exited()).toBe(false);
    // The outage was logged, naming the dependency, and the URL's password never appeared.
    expect(node.output()).toMatch(/store|postgres/i);
    expect(node.output()).not.toContain(PASSWORD);
  });

  it('answers 503 (no hang, no crash) when the database is black-holed, and recovers', async () => {
    // A partition: connections stay open and new ones are accepted, but nothing ever answers.
    // Queries must give up (the node's query timeout, 5 s) rather than hang, and the connections
    // that break mid-query when the partition ends must not crash the process.
    await waitReady(node, 200);
    const fresh = await Promise.all(Array.from({ length: 4 }, () => createKey(node, root, keyspaceId)));
    await proxy.freeze();
    const t0 = performance.now();
    const [verified, managed, ready] = await Promise.all([
      api(node, root, 'POST', '/v1/keys/verify', { key: fresh[0]!.key }),
      api(node, root, 'POST', '/v1/keyspaces', { name: 'during-partition' }),
      readyz(node),
    ]);
    const took = performance.now() - t0;
    console.log(`[multinode] black-holed database: 503 after ${took.toFixed(0)} ms`);
    expectUnavailable(verified);
    expectUnavailable(managed);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.store.status).toBe('down');
    expect(took).toBeLessThan(15_000);
    // Later calls (fresh connections that never complete their handshake) give up too.
    expectUnavailable(await api(node, root, 'POST', '/v1/keys/verify', { key: fresh[1]!.key }));
    expect(node.exited(), node.output()).toBe(false);

    // The partition ends: every connection open through it is reset.
    await proxy.restore();
    await waitReady(node, 200, 15_000);
    expect(node.exited(), node.output()).toBe(false);
    for (const k of fresh) expect(await verifyCode(node, root, k.key)).toBe('VALID');
    expect((await api(node, root, 'POST', '/v1/keyspaces', { name: 'after-partition' })).status).toBe(201);
    expect(node.output()).not.toContain(PASSWORD);
  });

  it('never logs the password of a Redis URL it cannot reach', async () => {
    const closed = await freePort();
    const data = tempDir('redis-password');
    const n = await startNode({
      dataDir: data.path,
      redisUrl: `redis://:${PASSWORD}@127.0.0.1:${closed}`,
      env: { KEYWARD_LOG_LEVEL: 'debug' },
    });
    try {
      await waitFor('a log line naming redis', () => (/redis/i.test(n.output()) ? true : undefined), 10_000);
      const ready = await readyz(n);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis.status).toBe('down');
      expect(JSON.stringify(ready.body)).not.toContain(PASSWORD);
      expect(await metricsText(n)).not.toContain(PASSWORD);
      // It waited for Redis (retrying) before listening: those attempts are in the output too.
      expect(n.exited(), n.output()).toBe(false);
      expect(n.output()).not.toContain(PASSWORD);
    } finally {
      expect(await n.stop()).toBe(0);
      data.remove();
    }
    expect(n.output()).not.toContain(PASSWORD);
  });

  it('never prints the password of a PostgreSQL URL it cannot reach', async () => {
    const closed = await freePort();
    const data = tempDir('pg-password');
    const n = await spawnNode({
      dataDir: data.path,
      databaseUrl: `postgres://postgres:${PASSWORD}@127.0.0.1:${closed}/test`,
      env: { KEYWARD_LOG_LEVEL: 'debug' },
    });
    try {
      // It may refuse to start (exit non-zero) or start and report the store down; either way
      // it says which dependency failed, and never with the password.
      await waitFor(
        'the node to exit or to answer /readyz',
        async () => {
          if (n.exited()) return true;
          try {
            return (await readyz(n)).status === 503 ? true : undefined;
          } catch {
            return undefined;
          }
        },
        20_000,
      );
      if (n.exited()) expect(n.exitCode()).not.toBe(0);
      expect(n.output()).toMatch(/postgres/i);
      expect(n.output()).not.toContain(PASSWORD);
    } finally {
      await n.stop();
      data.remove();
    }
    expect(n.output()).not.toContain(PASSWORD);
  });
});
