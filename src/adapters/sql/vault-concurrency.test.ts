import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { AuditLog } from '../../core/audit/index.js';
import { systemClock } from '../../core/clock/index.js';
import { type CallContext, PermissionSet } from '../../core/root-keys/index.js';
import type { Store } from '../../core/store/index.js';
import { MasterKey, Vault, WebhookSecretBox } from '../../core/vault/index.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';

const random = (n: number) => randomBytes(n);
const WS = 'ws_concurrency00';
const ctx: CallContext = {
  principal: { workspaceId: WS, rootKeyId: 'rk_test', permissions: new PermissionSet(['*']) },
  ip: null,
};

/** Concurrent writers of one secret on a real engine: versions never collide, check-and-set admits one. */
function describeConcurrentWrites(name: string, open: () => Promise<Store>) {
  describe(`vault writes at the same time: ${name}`, () => {
    async function vault() {
      const store = await open();
      await store.insertWorkspace({ id: WS, name: 'concurrency', createdAt: 1 });
      const master = MasterKey.generate(random);
      const v = new Vault(
        store,
        new AuditLog(store, systemClock),
        systemClock,
        random,
        master,
        new WebhookSecretBox(master, random),
        {
          maxVersions: 100,
        },
      );
      return { store, v };
    }

    it('gives every one of many simultaneous writes its own version, none lost', async () => {
      const { store, v } = await vault();
      try {
        const written = await Promise.all(
          Array.from({ length: 30 }, (_, i) => v.put(ctx, 'race/plain', { value: `v${i}` })),
        );

        expect(written.map((w) => w.version).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
        expect((await v.get(ctx, 'race/plain')).version).toBe(30);
      } finally {
        await store.close();
      }
    });

    it('lets exactly one of many check-and-set writers of a new secret win', async () => {
      const { store, v } = await vault();
      try {
        const written = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) =>
            v.put(ctx, 'race/cas', { value: `v${i}`, expectedVersion: 0 }),
          ),
        );

        expect(written.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of written)
          if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'SECRET_VERSION_MISMATCH' });
        expect((await v.get(ctx, 'race/cas')).version).toBe(1);
      } finally {
        await store.close();
      }
    });
  });
}

describeConcurrentWrites('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-vault-race-')), 'k.db')),
);

const url = postgresUrl();
const schemas: TestSchema[] = [];
describe.skipIf(!url)('PostgreSQL', () => {
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()));
  });
  describeConcurrentWrites('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 8 });
  });
});
