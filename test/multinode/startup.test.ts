import pgDriver from 'pg';
import { describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, redisUrl } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  type KeywardNode,
  spawnNode,
  verifyCode,
  waitHealthy,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
const redis = redisUrl();

async function query<T>(url: string, text: string): Promise<T[]> {
  const c = new pgDriver.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * Nodes started at the same moment on an empty database: migrations run once (under Kysely's
 * advisory lock), exactly one node bootstraps and prints the root key, and both serve it.
 */
describe.skipIf(!pg || !redis)('two nodes starting at once on an empty schema', () => {
  // A few rounds, each on its own fresh schema, to give the race a chance to show.
  it.each([1, 2])('round %i: one migration, one root key, both nodes serve it', async () => {
    ensureBuilt();
    const schema = await createSchema(pg as string);
    const nodes: KeywardNode[] = [];
    try {
      const common = { databaseUrl: schema.url, redisUrl: redis as string };
      nodes.push(...(await Promise.all([spawnNode(common), spawnNode(common)])));
      await Promise.all(nodes.map((n) => waitHealthy(n, 30_000)));
      await Promise.all(nodes.map((n) => waitReady(n, 200)));
      const [n1, n2] = nodes as [KeywardNode, KeywardNode];

      // Exactly one `root key: ` line over both outputs.
      const lines = nodes.flatMap((n) => n.stdout().match(/^root key: .*$/gm) ?? []);
      expect(lines, nodes.map((n) => n.output()).join('\n---\n')).toHaveLength(1);
      const root = /^root key: (\S+)$/.exec(lines[0] as string)?.[1] as string;
      expect(root).toMatch(/^kw_root_/);

      // The migrations ran once; one workspace, one root key.
      const migrations = await query<{ name: string }>(schema.url, 'select name from keyward_migrations');
      const names = migrations.map((m) => m.name);
      expect(names).toContain('0001_foundation');
      expect(new Set(names).size).toBe(names.length);
      expect(await query(schema.url, 'select id from workspaces')).toHaveLength(1);
      expect(await query(schema.url, 'select id from root_keys')).toHaveLength(1);
      // Neither node logged an error (pino level 50 and above) or a failed migration.
      for (const n of nodes) {
        expect(n.output()).not.toMatch(/"level":(50|60)/);
        expect(n.output()).not.toMatch(/migration .* failed/i);
      }

      // The key works on both nodes, and what one creates the other verifies.
      for (const n of nodes) expect((await api(n, root, 'GET', '/v1/keyspaces')).status).toBe(200);
      const keyspaceId = await createKeyspace(n2, root, 'startup');
      const k = await createKey(n2, root, keyspaceId);
      expect(await verifyCode(n1, root, k.key)).toBe('VALID');

      // SIGTERM: each drains and exits 0.
      const codes = await Promise.all(nodes.map((n) => n.stop('SIGTERM', 15_000)));
      expect(codes, nodes.map((n) => n.output()).join('\n---\n')).toEqual([0, 0]);
    } finally {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      await schema.drop();
    }
  });
});
