import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceiverProcess, startReceiver } from '../e2e/support/receiver-process.js';
import { createSchema, postgresUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  type KeywardNode,
  mapLimit,
  metricsText,
  metricValue,
  spawnNode,
  startNode,
  waitFor,
  waitHealthy,
} from './support/cluster.js';

const pg = postgresUrl();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two nodes on one PostgreSQL schema, both fanning out events and delivering webhooks at once:
 * each event reaches each endpoint exactly once, not once per node.
 */
describe.skipIf(!pg)('webhooks on two nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let receiver: ReceiverProcess;
  const nodes: KeywardNode[] = [];
  let root: string;

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    receiver = await startReceiver();
    const env = { KEYWARD_WEBHOOK_POLL_MS: '50', KEYWARD_WEBHOOK_RETRY_SCHEDULE_MS: '0,200,200,200,200' };
    const first = await startNode({ databaseUrl: schema.url, env });
    nodes.push(first);
    root = first.rootKey() as string;
    const second = await spawnNode({ databaseUrl: schema.url, env });
    nodes.push(second);
    await waitHealthy(second);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGTERM', 15_000)));
    await receiver?.stop();
    await schema?.drop();
  });

  it('delivers every event exactly once per endpoint', async () => {
    const [n1, n2] = nodes as [KeywardNode, KeywardNode];
    const paths = ['/a', '/b'];
    for (const [i, path] of paths.entries()) {
      const res = await api(i === 0 ? n1 : n2, root, 'POST', '/v1/webhooks', {
        url: receiver.url(path),
        events: ['key.created', 'key.revoked'],
      });
      expect(res.status).toBe(201);
      await receiver.expect(path, res.body.secret);
    }
    const keyspaceId = await createKeyspace(n1, root, 'multinode-webhooks');

    // 40 keys created and 10 revoked, spread over both nodes: 50 events, 2 endpoints.
    const keys = await mapLimit(
      Array.from({ length: 40 }, (_, i) => i),
      8,
      (i) => createKey(i % 2 === 0 ? n1 : n2, root, keyspaceId),
    );
    await mapLimit(keys.slice(0, 10), 5, async (k) => {
      const res = await api(n2, root, 'POST', `/v1/keys/${k.id}/revoke`, {});
      expect(res.status).toBe(200);
    });
    await waitFor(
      '100 deliveries',
      async () => ((await receiver.received()).length >= 100 ? true : undefined),
      30_000,
    );
    // Give a duplicate, if there were going to be one, the time to arrive.
    await sleep(1_500);

    const got = await receiver.received();
    expect(got).toHaveLength(100);
    expect(got.every((r) => r.verified && r.status === 204)).toBe(true);
    expect(new Set(got.map((r) => r.id)).size).toBe(100);
    for (const path of paths) {
      const events = got
        .filter((r) => r.path === path)
        .map((r) => JSON.parse(r.body) as { type: string; data: { keyId: string } })
        .map((b) => `${b.type} ${b.data.keyId}`);
      expect(new Set(events).size).toBe(50);
      expect(events).toHaveLength(50);
    }
    const delivered = await Promise.all(
      nodes.map(
        async (n) =>
          metricValue(await metricsText(n), 'keyward_webhook_deliveries_total', { outcome: 'delivered' }) ??
          0,
      ),
    );
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(100);
    // Both nodes took part (events trickle in over seconds; each polls every 50 ms).
    expect(
      delivered.every((n) => n > 0),
      `split ${delivered.join('/')}`,
    ).toBe(true);
  });
});
