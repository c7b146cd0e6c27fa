// A throwaway Keyward (SQLite in a temp dir) with one root key and one valid key, built from dist/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/server/config.js';
import { buildServices } from '../dist/server/services.js';

/**
 * @returns {Promise<{ services: any, rootKey: string, principal: any, key: string, dispose(): Promise<void> }>}
 */
export async function createFixture() {
  const dataDir = await mkdtemp(join(tmpdir(), 'keyward-bench-'));
  // An empty environment: KEYWARD_* variables of the shell must not change what is measured.
  const services = await buildServices(loadConfig({ data: dataDir }, {}));
  const boot = await services.workspaces.bootstrap();
  if (!boot) throw new Error('bootstrap returned null on a fresh data dir');
  const rootKey = boot.key;
  const principal = await services.rootKeys.authenticate(rootKey);
  const ctx = { principal, ip: null };
  const keyspace = await services.keyspaces.create(ctx, { name: 'bench' });
  const { key } = await services.keys.create(ctx, keyspace.id, {});
  return {
    services,
    rootKey,
    principal,
    key,
    async dispose() {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
