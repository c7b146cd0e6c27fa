// A throwaway Keyward with one root key and one valid key, built from dist/. SQLite in a temp dir
// by default; `env` may point it at PostgreSQL and Redis (KEYWARD_DATABASE_URL, KEYWARD_REDIS_URL).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/server/config.js';
import { buildServices } from '../dist/server/services.js';

/**
 * Services on a fresh data directory, without bootstrapping anything (a second node joining a
 * store that another process set up).
 * @param {Record<string, string>} env only these variables are read: the shell's KEYWARD_* must not
 *   change what is measured.
 */
export async function openServices(env = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'keyward-bench-'));
  const services = await buildServices(loadConfig({ data: dataDir }, env));
  return {
    services,
    async dispose() {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A bootstrapped workspace with a keyspace `bench`, its root key, and one key per entry of
 * `keys` (name → create input; `key` is always there, with no limits and no credits).
 * @param {{ env?: Record<string, string>, keys?: Record<string, object> }} [opts]
 * @returns {Promise<{ services: any, rootKey: string, principal: any, keyspaceId: string, key: string,
 *   keys: Record<string, { id: string, key: string, lineageId: string }>, dispose(): Promise<void> }>}
 */
export async function createFixture({ env = {}, keys: specs = {} } = {}) {
  const { services, dispose } = await openServices(env);
  const boot = await services.workspaces.bootstrap();
  if (!boot) throw new Error('bootstrap returned null on a fresh store');
  const rootKey = boot.key;
  const principal = await services.rootKeys.authenticate(rootKey);
  const ctx = { principal, ip: null };
  const keyspace = await services.keyspaces.create(ctx, { name: 'bench' });
  const keys = {};
  for (const [name, input] of Object.entries({ key: {}, ...specs })) {
    const created = await services.keys.create(ctx, keyspace.id, input);
    keys[name] = { id: created.record.id, key: created.key, lineageId: created.record.lineageId };
  }
  return { services, rootKey, principal, keyspaceId: keyspace.id, key: keys.key.key, keys, dispose };
}
