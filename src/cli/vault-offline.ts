import { existsSync, renameSync, rmSync } from 'node:fs';
import { secureRandom } from '../core/crypto/index.js';
import { MasterKey, rotateMasterKey } from '../core/vault/index.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { pendingKeyFile, resolveMasterKey, writeKeyFile } from '../server/master-key.js';
import { openStore } from '../server/services.js';
import { CliError } from './client.js';
import { requireExistingStore } from './offline-store.js';

export interface MasterKeyRotation {
  rewrapped: number;
  /** The key file that now holds the new key; undefined when the key came from KEYWARD_MASTER_KEY. */
  keyFile?: string;
}

/**
 * `keyward vault rotate-master-key`: offline, on the store the server uses (like
 * `root-keys create`). The current key is found as the server finds it; the new one is
 * `KEYWARD_NEW_MASTER_KEY`, or generated.
 *
 * With a key file, the new key is first written to `<file>.new`, the store is re-wrapped in one
 * transaction, then `<file>.new` replaces the file. A crash in between leaves both files; the
 * next server start sees that `<file>.new` opens the vault and finishes the rename.
 */
export async function rotateMasterKeyOffline(
  opts: { data?: string | undefined },
  env: NodeJS.ProcessEnv,
  onProgress: (done: number, total: number) => void,
): Promise<MasterKeyRotation> {
  const config = loadConfig({ data: opts.data }, env);
  requireExistingStore(config);
  const current = resolveMasterKey(config, { random: secureRandom, generate: false });
  const given = env.KEYWARD_NEW_MASTER_KEY?.trim();
  if (current.kind === 'env' && !given)
    throw new CliError(
      'the master key comes from KEYWARD_MASTER_KEY, which this command cannot change: set KEYWARD_NEW_MASTER_KEY ' +
        '(e.g. `openssl rand -base64 32`) and, once this succeeds, give that key to every node as KEYWARD_MASTER_KEY',
    );
  let next: MasterKey;
  try {
    next = given ? MasterKey.fromBase64(given) : MasterKey.generate(secureRandom);
  } catch {
    throw new ConfigError(
      'KEYWARD_NEW_MASTER_KEY must be 32 bytes encoded as base64 (openssl rand -base64 32)',
    );
  }
  if (next.toBase64() === current.key.toBase64())
    throw new CliError('the new master key is the current one: nothing to rotate');

  const file = current.file;
  const pending = file === undefined ? undefined : pendingKeyFile(file);
  if (pending !== undefined) {
    if (existsSync(pending))
      throw new CliError(
        `${pending} exists: an earlier rotation was interrupted. Start the server once (it finishes the rotation if that key ` +
          'opens the vault), or remove the file if it is stale',
      );
    writeKeyFile(pending, next);
  }
  const store = await openStore(config);
  try {
    const rewrapped = await rotateMasterKey(store, current.key, next, secureRandom, Date.now(), (p) =>
      onProgress(p.done, p.total),
    );
    if (file !== undefined && pending !== undefined) renameSync(pending, file);
    return { rewrapped, ...(file !== undefined ? { keyFile: file } : {}) };
  } catch (err) {
    // The transaction rolled back: the old key still opens everything, the new one nothing.
    if (pending !== undefined) rmSync(pending, { force: true });
    throw err;
  } finally {
    await store.close();
  }
}
