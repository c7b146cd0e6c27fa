import type { RandomSource } from '../crypto/index.js';
import type { SealedWebhookSecret, StoreOps } from '../store/index.js';
import { type MasterKey, openCredential, SealOpenError, sealCredential } from './envelope.js';

/** What a sealed signing secret is bound to: its workspace and endpoint. */
const context = (workspaceId: string, webhookId: string) => `webhook-secret\0${workspaceId}\0${webhookId}`;

/** A signing secret from before sealing: still the plaintext `whsec_…` (see migration 0010). */
const isPlaintext = (stored: string) => stored.startsWith('whsec_');

/**
 * Webhook signing secrets at rest. Keyward signs every delivery, so it must be able to read the
 * secret back: it is sealed under the master key (AES-256-GCM, bound to its workspace and
 * endpoint), never stored in clear. Master-key rotation re-seals every one with the data keys.
 */
export class WebhookSecretBox {
  constructor(
    private readonly master: MasterKey,
    private readonly random: RandomSource,
  ) {}

  seal(workspaceId: string, webhookId: string, secret: string): string {
    return sealCredential(this.master, context(workspaceId, webhookId), secret, this.random);
  }

  /** The `whsec_…` secret, or SealOpenError when the blob does not open under this master key. */
  open(workspaceId: string, webhookId: string, sealed: string): string {
    return openCredential(this.master, context(workspaceId, webhookId), sealed);
  }
}

/**
 * Seals the signing secrets that an earlier release stored in clear; run at start, after the
 * master key is known to open the vault. Resolves to how many it sealed (0 after the first start).
 */
export async function sealPlaintextWebhookSecrets(tx: StoreOps, box: WebhookSecretBox): Promise<number> {
  let sealed = 0;
  for (const w of await tx.listSealedWebhookSecrets()) {
    if (!isPlaintext(w.sealedSecret)) continue;
    await tx.setSealedWebhookSecret(w.workspaceId, w.id, box.seal(w.workspaceId, w.id, w.sealedSecret));
    sealed++;
  }
  return sealed;
}

/**
 * Re-seals the signing secrets listed (all of them: `tx.listSealedWebhookSecrets()`) from
 * `current` to `next`, as part of the master-key rotation's transaction. A secret that
 * `current` cannot open stops the rotation with nothing changed.
 */
export async function resealWebhookSecrets(
  tx: StoreOps,
  secrets: readonly SealedWebhookSecret[],
  current: MasterKey,
  next: MasterKey,
  random: RandomSource,
  onEach: () => void = () => {},
): Promise<number> {
  const from = new WebhookSecretBox(current, random);
  const to = new WebhookSecretBox(next, random);
  let done = 0;
  for (const w of secrets) {
    let secret: string;
    try {
      secret = isPlaintext(w.sealedSecret) ? w.sealedSecret : from.open(w.workspaceId, w.id, w.sealedSecret);
    } catch (err) {
      if (err instanceof SealOpenError)
        throw new Error(
          `the signing secret of webhook ${w.id} (workspace ${w.workspaceId}) fails authentication; nothing was changed`,
        );
      throw err;
    }
    await tx.setSealedWebhookSecret(w.workspaceId, w.id, to.seal(w.workspaceId, w.id, secret));
    done++;
    onEach();
  }
  return done;
}
