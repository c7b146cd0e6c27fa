import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, redisUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  type KeywardNode,
  mapLimit,
  metricsText,
  startNode,
  tempDir,
  waitFor,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
const redis = redisUrl();

/**
 * Usage counts add up across nodes: two real server processes on one PostgreSQL schema record
 * verifications of the same keys at once (their per-minute upserts hit the same rows), then
 * stop gracefully; a third node must show every verification exactly once.
 */
describe.skipIf(!pg || !redis)('two nodes sharing PostgreSQL: usage counted exactly once', () => {
  const N = 2_000;
  let schema: TestSchema;
  let data: ReturnType<typeof tempDir>;
  let common: Parameters<typeof startNode>[0];
  let nodes: KeywardNode[] = [];
  let reader: KeywardNode;
  let root: string;
  let keys: { id: string; key: string }[];
  let exitCodes: (number | null)[];
  let dropped: (number | undefined)[];

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    data = tempDir('usage');
    common = {
      databaseUrl: schema.url,
      redisUrl: redis as string,
      env: { KEYWARD_LOG_LEVEL: 'warn', KEYWARD_DATA_DIR: data.path },
    };
    const n1 = await startNode(common);
    root = await waitFor('the bootstrap root key on node 1', () => n1.rootKey(), 5_000);
    const n2 = await startNode(common);
    nodes = [n1, n2];
    await Promise.all(nodes.map((n) => waitReady(n, 200)));
    const keyspaceId = await createKeyspace(n1, root, 'usage');
    keys = [
      await createKey(n1, root, keyspaceId, { scopes: ['read'] }),
      await createKey(n1, root, keyspaceId),
    ];

    // Both nodes, both keys, 64 requests in flight; one in five asks for a scope key 0 lacks.
    await mapLimit(
      Array.from({ length: N }, (_, i) => i),
      64,
      async (i) => {
        const node = nodes[i % 2] as KeywardNode;
        const key = keys[Math.floor(i / 2) % 2] as { key: string };
        const r = await api(node, root, 'POST', '/v1/keys/verify', {
          key: key.key,
          ...(i % 5 === 0 ? { scopes: 'write' } : {}),
        });
        expect(r.status).toBe(200);
      },
    );
    dropped = await Promise.all(
      nodes.map(async (n) => {
        const line = /^keyward_usage_events_dropped_total (\S+)$/m.exec(await metricsText(n));
        return line ? Number(line[1]) : undefined;
      }),
    );
    exitCodes = await Promise.all(nodes.map((n) => n.stop()));
    reader = await startNode(common);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...nodes, reader].map((n) => n?.stop()));
    await schema?.drop();
    data?.remove();
  });

  /** Sum of a key's series at one granularity, read from the third node. */
  async function total(keyId: string, granularity: string) {
    const r = await api(reader, root, 'GET', `/v1/keys/${keyId}/usage?granularity=${granularity}`);
    expect(r.status).toBe(200);
    return (r.body.series as { total: number; byCode: Record<string, number> }[]).reduce(
      (acc, p) => {
        acc.total += p.total;
        for (const [code, n] of Object.entries(p.byCode)) acc.byCode[code] = (acc.byCode[code] ?? 0) + n;
        return acc;
      },
      { total: 0, byCode: {} as Record<string, number> },
    );
  }

  it('both nodes exit 0 on SIGTERM, having dropped nothing', () => {
    expect(exitCodes).toEqual([0, 0]);
    expect(dropped).toEqual([0, 0]);
  });

  it('shows every verification of both nodes exactly once, in every granularity', async () => {
    // i % 4 in {0, 1} is key 0, {2, 3} key 1; i % 5 === 0 asks for `write`, which key 0 lacks
    // and key 1 (no scopes at all) lacks too.
    const expected = (k: number) => {
      const mine = Array.from({ length: N }, (_, i) => i).filter((i) => Math.floor(i / 2) % 2 === k);
      const denied = mine.filter((i) => i % 5 === 0).length;
      return { total: mine.length, byCode: { VALID: mine.length - denied, INSUFFICIENT_SCOPES: denied } };
    };
    for (const [k, key] of keys.entries())
      for (const granularity of ['minute', 'hour', 'day'])
        expect(await total(key.id, granularity)).toEqual(expected(k));
  });

  it('lists each key’s events from both nodes', async () => {
    let count = 0;
    let cursor: string | null = null;
    do {
      const r: { body: { items: unknown[]; nextCursor: string | null } } = await api(
        reader,
        root,
        'GET',
        `/v1/keys/${keys[0]?.id}/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      count += r.body.items.length;
      cursor = r.body.nextCursor;
    } while (cursor);

    expect(count).toBe(N / 2);
  });
});
