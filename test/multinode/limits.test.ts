import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, redisUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  createKeyspace,
  ensureBuilt,
  type KeywardNode,
  startNode,
  tempDir,
  waitFor,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
const redis = redisUrl();

const MINUTE = 60_000;

/** How many answers carry each verification code. */
function tally(codes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of codes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

/**
 * Limits hold exactly across nodes: two real server processes sharing one PostgreSQL schema and
 * one Redis, hit with truly concurrent bursts spread evenly over both.
 */
describe.skipIf(!pg || !redis)('two nodes sharing PostgreSQL and Redis: exact limits', () => {
  let schema: TestSchema;
  let data: ReturnType<typeof tempDir>;
  let n1: KeywardNode;
  let n2: KeywardNode;
  let nodes: KeywardNode[];
  let root: string;
  let keyspaceId: string;
  let run = 0;

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    data = tempDir('limits');
    const common = {
      databaseUrl: schema.url,
      redisUrl: redis as string,
      // Exact counts: a node held up for half a second on a loaded machine must not decide on
      // its fallback share (the default timeout is 500 ms).
      env: {
        KEYWARD_LOG_LEVEL: 'warn',
        KEYWARD_DATA_DIR: data.path,
        KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS: '5000',
      },
    };
    n1 = await startNode(common);
    root = await waitFor('the bootstrap root key on node 1', () => n1.rootKey(), 5_000);
    n2 = await startNode(common);
    await Promise.all([waitReady(n1, 200), waitReady(n2, 200)]);
    nodes = [n1, n2];
    keyspaceId = await createKeyspace(n1, root, 'limits');
  });

  afterAll(async () => {
    await Promise.all([n1?.stop(), n2?.stop()]);
    await schema?.drop();
    data?.remove();
  });

  /** `n` verifications of `key`, all in flight at once, alternating between the two nodes. */
  async function burst(n: number, keyOf: (i: number) => string) {
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        api(nodes[i % 2] as KeywardNode, root, 'POST', '/v1/keys/verify', { key: keyOf(i) }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(200);
    return answers.map((a) => a.body as { code: string; credits?: { remaining: number } });
  }

  it('admits exactly the limit out of 200 concurrent verifications of one key over both nodes', async () => {
    const k = await createKey(n1, root, keyspaceId, {
      ratelimits: [{ name: 'per-minute', limit: 50, windowMs: MINUTE }],
    });

    const answers = await burst(200, () => k.key);

    expect(tally(answers.map((a) => a.code))).toEqual({ VALID: 50, RATE_LIMITED: 150 });
    for (const node of nodes) {
      const peek = await api(node, root, 'POST', '/v1/keys/verify', { key: k.key, cost: 0 });
      expect(peek.body).toMatchObject({ code: 'RATE_LIMITED', ratelimits: [{ limit: 50, remaining: 0 }] });
    }
  });

  it('ends a key with 100 credits at exactly 100 VALID, 200 USAGE_EXCEEDED and remaining 0 under 300 concurrent verifications', async () => {
    const k = await createKey(n1, root, keyspaceId, { credits: { remaining: 100 } });

    const answers = await burst(300, () => k.key);

    expect(tally(answers.map((a) => a.code))).toEqual({ VALID: 100, USAGE_EXCEEDED: 200 });
    expect(answers.every((a) => (a.credits?.remaining ?? -1) >= 0)).toBe(true);
    for (const node of nodes) {
      const got = await api(node, root, 'GET', `/v1/keys/${k.id}`);
      expect(got.body.credits).toMatchObject({ remaining: 0 });
    }
  });

  it('spends no credits on calls refused by a rate limit, across both nodes', async () => {
    const k = await createKey(n1, root, keyspaceId, {
      credits: { remaining: 100 },
      ratelimits: [{ name: 'per-minute', limit: 30, windowMs: MINUTE }],
    });

    const answers = await burst(120, () => k.key);

    expect(tally(answers.map((a) => a.code))).toEqual({ VALID: 30, RATE_LIMITED: 90 });
    const got = await api(n2, root, 'GET', `/v1/keys/${k.id}`);
    expect(got.body.credits).toMatchObject({ remaining: 70 });
  });

  it('shares one window between a rotated key on one node and its predecessor on the other', async () => {
    const old = await createKey(n1, root, keyspaceId, {
      ratelimits: [{ name: 'per-minute', limit: 20, windowMs: MINUTE }],
    });
    const rotated = await api(n1, root, 'POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });
    expect(rotated.status).toBe(201);

    // Even calls go to node 1 with the old key, odd ones to node 2 with the new one.
    const answers = await burst(80, (i) => (i % 2 === 0 ? old.key : (rotated.body.key as string)));

    expect(tally(answers.map((a) => a.code))).toEqual({ VALID: 20, RATE_LIMITED: 60 });
  });

  it('admits exactly the limit out of a concurrent POST /v1/ratelimit burst over both nodes', async () => {
    run += 1;
    const body = { namespace: 'login', identifier: `user-${Date.now()}-${run}`, limit: 25, windowMs: MINUTE };

    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api(nodes[i % 2] as KeywardNode, root, 'POST', '/v1/ratelimit', body),
      ),
    );

    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(answers.filter((a) => a.body.success === true)).toHaveLength(25);
    expect(Math.min(...answers.map((a) => a.body.remaining as number))).toBe(0);
    for (const node of nodes) {
      const peek = await api(node, root, 'POST', '/v1/ratelimit', { ...body, cost: 0 });
      expect(peek.body).toMatchObject({ success: false, limit: 25, remaining: 0 });
    }
  });
});
