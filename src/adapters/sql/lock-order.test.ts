import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { keyspaceRecord } from '../../core/store/testing/keyspace-record.js';
import { openPostgresStore } from './postgres.js';
import type { SqlStore } from './sql-store.js';

const url = postgresUrl();
const WS = 'ws_aaaaaaaaaaaa';
const KS = 'ks_111111111111';
const KEYS = Array.from({ length: 6_000 }, (_, i) => `key_lock${String(i).padStart(8, '0')}`);
/** What a usage flush touches: every 12th key, 500 in all (three statements of at most 200). */
const USED = KEYS.filter((_, i) => i % 12 === 0);

/**
 * A bulk revocation and usage flushes touching `last_used_at` update many of the same keys at
 * once on PostgreSQL (an emergency revocation while the nodes record verifications). Each takes
 * its row locks in id order (locksRows), so they never wait on each other in a cycle. With the
 * locks taken in each scan's own order, this test saw 24 deadlocks in 13 rounds, and PostgreSQL
 * fails one transaction of each: the revocation answered 500 in a CI run of the two-node test.
 */
describe.skipIf(!url)('PostgreSQL: many-key updates take their row locks in one order', () => {
  let schema: TestSchema;
  let store: SqlStore;
  beforeAll(async () => {
    schema = await createSchema(url ?? '');
    store = await openPostgresStore(schema.url, { poolSize: 6 });
    await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
    await store.insertKeyspace(keyspaceRecord(KS, WS));
    // In bulk, as the two-node test does: one by one through the store would take most of a minute.
    for (let i = 0; i < KEYS.length; i += 500) {
      const rows = KEYS.slice(i, i + 500).map(
        (id) =>
          sql`(${id}, ${`hash-${id}`}, 'kw_abcd', ${id}, ${WS}, ${KS}, 'o', '{}', '[]', 'active', 1, 1, '[]', '{"ips":[],"origins":[]}')`,
      );
      await sql`insert into keys (id, hash, start, lineage_id, workspace_id, keyspace_id, owner_id, meta,
        scopes, status, created_at, updated_at, ratelimits, restrictions) values ${sql.join(rows)}`.execute(
        store.database,
      );
    }
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await schema?.drop();
  });

  it('never deadlocks a bulk revocation against usage flushes of the same keys', async () => {
    let at = 1_000;
    const flush = () =>
      store.transaction((tx) => tx.touchKeysLastUsed(USED.map((keyId) => ({ keyId, at: ++at }))));
    const failures: string[] = [];
    // A first flush moves the used keys' rows: from then on the table's order is not id order.
    await flush();
    for (let round = 0; round < 10; round++) {
      await sql`update keys set status = 'active' where workspace_id = ${WS}`.execute(store.database);
      const results = await Promise.allSettled([
        store.transaction((tx) => tx.bulkRevokeKeys({ workspaceId: WS, ownerId: 'o' }, at, 'leaked')),
        flush(),
        flush(),
      ]);
      for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason));
      const [revocation] = results;
      if (revocation.status === 'fulfilled') expect(revocation.value).toHaveLength(KEYS.length);
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
