import pgDriver from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureRandom } from '../../src/core/crypto/index.js';
import { generateKey } from '../../src/core/keys/index.js';
import { createSchema, postgresUrl, redisUrl, type TestSchema } from '../support/services.js';
import {
  api,
  createKey,
  ensureBuilt,
  type KeywardNode,
  mapLimit,
  startNode,
  verifyCode,
  waitFor,
  waitReady,
} from './support/cluster.js';

const pg = postgresUrl();
const redis = redisUrl();

/**
 * Timed work and emergency revocation with two real server processes on one PostgreSQL schema
 * and one Redis: each due key is processed once, a dead leader is replaced, and a revocation of
 * ten thousand keys leaves none verifying on either node.
 */
describe.skipIf(!pg || !redis)('two nodes: scheduler leadership and emergency revocation', () => {
  let schema: TestSchema;
  let db: pgDriver.Client;
  let n1: KeywardNode;
  let n2: KeywardNode;
  let root: string;
  let workspaceId: string;

  beforeAll(async () => {
    ensureBuilt();
    schema = await createSchema(pg as string);
    const common = {
      databaseUrl: schema.url,
      redisUrl: redis as string,
      env: {
        KEYWARD_LOG_LEVEL: 'warn',
        KEYWARD_SCHEDULER_TICK_MS: '200',
        KEYWARD_ROTATION_CHECK_MS: '200',
        KEYWARD_SCHEDULER_LEASE_MS: '2000',
      },
    };
    n1 = await startNode(common);
    root = await waitFor('the bootstrap root key', () => n1.rootKey(), 5_000);
    n2 = await startNode(common);
    await Promise.all([waitReady(n1, 200), waitReady(n2, 200)]);
    db = new pgDriver.Client({ connectionString: schema.url });
    await db.connect();
    workspaceId =
      (await db.query<{ id: string }>("select id from workspaces where name = 'default'")).rows[0]?.id ?? '';
  });

  afterAll(async () => {
    await db?.end();
    await Promise.all([n1?.stop(), n2?.stop()]);
    await schema?.drop();
  });

  /** Keys whose age already passed the policy: their creation time is moved back an hour. */
  async function oldKeys(keyspaceId: string, n: number): Promise<string[]> {
    const created = await mapLimit(Array.from({ length: n }), 8, () => createKey(n1, root, keyspaceId));
    const ids = created.map((k) => k.id);
    await db.query('update keys set created_at = created_at - 3600000 where id = any($1)', [ids]);
    return ids;
  }

  const dueCounts = async (ids: string[]) => {
    const { rows } = await db.query<{ key: string; n: string }>(
      `select data::json ->> 'keyId' as key, count(*) as n from events
       where type = 'key.rotation_due' and data::json ->> 'keyId' = any($1) group by 1`,
      [ids],
    );
    return rows;
  };

  const leaderPid = async () => {
    const { rows } = await db.query<{ holder: string }>("select holder from leases where name = 'scheduler'");
    return Number(rows[0]?.holder.split(':')[1]);
  };

  it('processes each due key exactly once although both nodes run the scheduler', async () => {
    const ks = await api(n1, root, 'POST', '/v1/keyspaces', {
      name: 'scheduled',
      rotation: { maxAgeSeconds: 600, gracePeriodSeconds: 3600 },
    });
    const ids = await oldKeys(ks.body.id, 60);
    const rows = await waitFor(
      'every key marked due',
      async () => {
        const r = await dueCounts(ids);
        return r.length === ids.length ? r : undefined;
      },
      30_000,
      100,
    );
    // Several more scheduler rounds on both nodes change nothing.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await dueCounts(ids)).every((r) => r.n === '1')).toBe(true);
    expect(rows).toHaveLength(60);
    const audit = await db.query("select count(*) as n from audit_log where action = 'key.rotation_due'");
    expect(Number(audit.rows[0]?.n)).toBe(60);
  });

  it('hands timed work over to the other node when the leader is killed', async () => {
    const pid = await leaderPid();
    const [leader, survivor] = pid === n1.pid ? [n1, n2] : [n2, n1];
    expect([n1.pid, n2.pid]).toContain(pid);
    await leader.stop('SIGKILL');
    const ks = await api(survivor, root, 'POST', '/v1/keyspaces', {
      name: 'after-failover',
      rotation: { maxAgeSeconds: 600, gracePeriodSeconds: 60 },
    });
    const created = await mapLimit(Array.from({ length: 10 }), 5, () =>
      createKey(survivor, root, ks.body.id),
    );
    const ids = created.map((k) => k.id);
    await db.query('update keys set created_at = created_at - 3600000 where id = any($1)', [ids]);
    await waitFor(
      'the survivor to take over and mark the new keys due',
      async () => ((await dueCounts(ids)).length === ids.length ? true : undefined),
      20_000,
      100,
    );
    expect(await leaderPid()).toBe(survivor.pid);
    // Keep the suite's two-node shape for the next test.
    const restarted = await startNode({
      databaseUrl: schema.url,
      redisUrl: redis as string,
      env: {
        KEYWARD_LOG_LEVEL: 'warn',
        KEYWARD_SCHEDULER_TICK_MS: '200',
        KEYWARD_ROTATION_CHECK_MS: '200',
        KEYWARD_SCHEDULER_LEASE_MS: '2000',
      },
    });
    if (leader === n1) n1 = restarted;
    else n2 = restarted;
    await waitReady(restarted, 200);
  });

  it('revokes ten thousand keys at once so that none verifies on either node, with an incident timeline', async () => {
    const ks = await api(n1, root, 'POST', '/v1/keyspaces', { name: 'leaky' });
    const keyspaceId = ks.body.id as string;
    // Ten thousand keys inserted straight into the store (issuing them one by one over HTTP
    // would dominate the test); each has a real plaintext, so the nodes can verify it.
    const now = Date.now();
    const keys = Array.from({ length: 10_000 }, (_, i) => ({
      ...generateKey('kw', secureRandom),
      id: `key_bulk${String(i).padStart(12, '0')}`,
    }));
    for (let i = 0; i < keys.length; i += 1_000) {
      const chunk = keys.slice(i, i + 1_000);
      const values = chunk.map(
        (_, j) =>
          `($${j * 4 + 1}, $${j * 4 + 2}, $${j * 4 + 3}, $${j * 4 + 4}, ${JSON.stringify(workspaceId).replace(/"/g, "'")}, '${keyspaceId}', 'leaker', '{}', '[]', 'active', ${now}, ${now}, '[]', '{"ips":[],"origins":[]}')`,
      );
      await db.query(
        `insert into keys (id, hash, start, lineage_id, workspace_id, keyspace_id, owner_id, meta, scopes, status, created_at, updated_at, ratelimits, restrictions) values ${values.join(',')}`,
        chunk.flatMap((k) => [k.id, k.hash, k.start, k.id]),
      );
    }
    const sample = keys.filter((_, i) => i % 20 === 0);
    // Warm both nodes' caches with the sample.
    for (const node of [n1, n2])
      expect(new Set(await mapLimit(sample, 16, (k) => verifyCode(node, root, k.key)))).toEqual(
        new Set(['VALID']),
      );

    const res = await api(n1, root, 'POST', '/v1/keys/revoke', {
      filter: { keyspaceId, ownerId: 'leaker' },
      reason: 'the whole batch leaked',
    });
    // On a failure, what the node logged says why.
    expect(res.status, `${JSON.stringify(res.body)}\n${n1.output().slice(-4000)}`).toBe(200);
    expect(res.body.revoked).toBe(10_000);

    for (const node of [n2, n1])
      expect(new Set(await mapLimit(sample, 16, (k) => verifyCode(node, root, k.key)))).toEqual(
        new Set(['REVOKED']),
      );
    const left = await db.query(
      "select count(*) as n from keys where keyspace_id = $1 and status <> 'revoked'",
      [keyspaceId],
    );
    expect(Number(left.rows[0]?.n)).toBe(0);
    const events = await db.query(
      "select count(*) as n from events where type = 'key.revoked' and data::json ->> 'incidentId' = $1",
      [res.body.incidentId],
    );
    expect(Number(events.rows[0]?.n)).toBe(10_000);

    // The incident's timeline shows the sample's verifications (usage is flushed every second).
    const incident = await waitFor(
      'the incident timeline to show the verifications',
      async () => {
        const r = await api(n2, root, 'GET', `/v1/incidents/${res.body.incidentId}`);
        const verified = r.body.timeline.filter((t: { event: string }) => t.event === 'key.verified');
        return verified.length >= sample.length * 4 ? r.body : undefined;
      },
      20_000,
      250,
    );
    expect(incident.keys).toHaveLength(10_000);
    const codes = new Set(
      incident.timeline
        .filter((t: { event: string }) => t.event === 'key.verified')
        .map((t: { detail: { code: string } }) => t.detail.code),
    );
    expect(codes).toEqual(new Set(['VALID', 'REVOKED']));
  });
});
