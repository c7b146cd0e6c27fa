import { KeywardError } from '../errors/index.js';
import type { StoreOps } from '../store/index.js';
import { keyCheckOpens, type MasterKey, openVersion, SealOpenError, type VersionRef } from './envelope.js';

/**
 * Opens a stored version, or throws the catalogue's error: MASTER_KEY_MISMATCH when this
 * server's master key no longer opens the vault, SECRET_DECRYPTION_FAILED when the stored
 * bytes were altered or moved. Never garbage, never the value in a message.
 */
export async function unseal(
  tx: StoreOps,
  master: MasterKey,
  ref: VersionRef,
  sealed: { ciphertext: string; wrappedKey: string },
): Promise<string> {
  try {
    return openVersion(master, ref, sealed);
  } catch (err) {
    if (!(err instanceof SealOpenError)) throw err;
    // A data key that will not open is either tampered with or wrapped by another master key;
    // the check value tells which.
    const check = await tx.getMasterKeyCheck();
    if (err.part === 'data key' && check !== undefined && !keyCheckOpens(master, check))
      throw new KeywardError(
        'MASTER_KEY_MISMATCH',
        "This server's master key no longer opens the vault (was it rotated?); restart it with the current master key",
      );
    throw new KeywardError(
      'SECRET_DECRYPTION_FAILED',
      `Version ${ref.version} of secret ${ref.path} failed authentication (its ${err.part}): the stored data was altered or moved`,
    );
  }
}
