import type { RandomSource } from '../crypto/index.js';
import { KeywardError } from '../errors/index.js';
import type { StoreOps } from '../store/index.js';
import { keyCheckOpens, type MasterKey, makeKeyCheck, opensDataKey } from './envelope.js';

/** Raised at start when the master key does not open the store's vault. */
export function masterKeyMismatch(): KeywardError {
  return new KeywardError(
    'MASTER_KEY_MISMATCH',
    'the master key is wrong: it does not open the vault data already in this store. ' +
      'Start with the master key the data was written with (KEYWARD_MASTER_KEY or KEYWARD_MASTER_KEY_FILE); nothing was changed',
  );
}

/** Whether `master` opens this store's vault: its check value, or else its first data key. */
export async function masterKeyOpens(store: StoreOps, master: MasterKey): Promise<boolean> {
  const check = await store.getMasterKeyCheck();
  if (check !== undefined) return keyCheckOpens(master, check);
  const [first] = await store.scanWrappedKeys(undefined, 1);
  return first === undefined || opensDataKey(master, first, first.wrappedKey);
}

/**
 * Checks the master key against the store before anything is written, and on first use stores
 * the check value that lets the next start tell a wrong key at once. Throws MASTER_KEY_MISMATCH
 * without changing anything when the key does not fit.
 */
export async function ensureMasterKey(
  store: StoreOps,
  master: MasterKey,
  random: RandomSource,
  now: number,
): Promise<'verified' | 'initialised'> {
  if (!(await masterKeyOpens(store, master))) throw masterKeyMismatch();
  if ((await store.getMasterKeyCheck()) !== undefined) return 'verified';
  if (await store.insertMasterKeyCheck(makeKeyCheck(master, random), now)) return 'initialised';
  // Another node stored its check value first: it must be ours too.
  if (!(await masterKeyOpens(store, master))) throw masterKeyMismatch();
  return 'verified';
}
