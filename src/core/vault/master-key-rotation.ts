import type { RandomSource } from '../crypto/index.js';
import type { Store, VersionPosition } from '../store/index.js';
import { type MasterKey, makeKeyCheck, rewrapDataKey, SealOpenError } from './envelope.js';
import { masterKeyMismatch, masterKeyOpens } from './master-key-check.js';
import { resealWebhookSecrets } from './webhook-secrets.js';

const BATCH = 500;

export interface RewrapProgress {
  done: number;
  total: number;
}

/**
 * Re-wraps every data key under `next`, re-seals every webhook signing secret, and replaces the
 * check value, in one transaction: afterwards only `next` opens the vault, and a failure
 * half-way changes nothing. Values are not re-encrypted — their data keys stay the same, only
 * their wrapping changes.
 *
 * Returns how many data keys were re-wrapped (webhook secrets count in the progress, not here).
 */
export async function rotateMasterKey(
  store: Store,
  current: MasterKey,
  next: MasterKey,
  random: RandomSource,
  now: number,
  onProgress: (p: RewrapProgress) => void = () => {},
): Promise<number> {
  return store.transaction(async (tx) => {
    if (!(await masterKeyOpens(tx, current))) throw masterKeyMismatch();
    const webhookSecrets = await tx.listSealedWebhookSecrets();
    const total = (await tx.countWrappedKeys()) + webhookSecrets.length;
    onProgress({ done: 0, total });
    let done = 0;
    let after: VersionPosition | undefined;
    for (;;) {
      const batch = await tx.scanWrappedKeys(after, BATCH);
      for (const ref of batch) {
        let wrapped: string;
        try {
          wrapped = rewrapDataKey(current, next, ref, ref.wrappedKey, random);
        } catch (err) {
          if (err instanceof SealOpenError)
            throw new Error(
              `version ${ref.version} of secret ${ref.path} (workspace ${ref.workspaceId}) has a data key that fails authentication; nothing was changed`,
            );
          throw err;
        }
        await tx.updateWrappedKey(ref, wrapped);
        done++;
        onProgress({ done, total });
      }
      const last = batch[batch.length - 1];
      if (batch.length < BATCH || !last) break;
      after = { workspaceId: last.workspaceId, path: last.path, version: last.version };
    }
    const rewrapped = done;
    await resealWebhookSecrets(tx, webhookSecrets, current, next, random, () =>
      onProgress({ done: ++done, total }),
    );
    const check = makeKeyCheck(next, random);
    if (!(await tx.insertMasterKeyCheck(check, now))) await tx.replaceMasterKeyCheck(check, now);
    return rewrapped;
  });
}
