import type { AuditLog } from '../audit/index.js';
import type { RandomSource } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { CallContext } from '../root-keys/index.js';
import type { SecretRotation, StoreOps } from '../store/index.js';
import {
  checkTargetUrl,
  type HostResolver,
  newWebhookSecret,
  redactUrl,
  webhookAuditEntry,
} from '../webhooks/index.js';
import type { WebhookSecretBox } from './webhook-secrets.js';

/**
 * The endpoint made for a secret's `rotation.webhook`, with its `whsec_…` signing secret: in
 * the answer of the call that made it, once, like the secret of any webhook.
 */
export interface CreatedRotationWebhook {
  id: string;
  url: string;
  secret: string;
}

const EVENTS = ['secret.rotation_due'];

/** Refuses a `rotation.webhook` that a registered webhook would refuse (before any transaction). */
export async function checkRotationWebhook(
  rotation: SecretRotation | null | undefined,
  opts: { denyPrivate: boolean; resolve?: HostResolver | undefined },
): Promise<void> {
  if (rotation?.webhook !== undefined)
    await checkTargetUrl(rotation.webhook, { ...opts, field: '/rotation/webhook' });
}

/**
 * Makes the secret's rotation endpoint match its policy, inside the transaction that sets the
 * policy. A `rotation.webhook` is delivered like any webhook — signed (Standard Webhooks),
 * retried, logged, once per event however many nodes run — through an endpoint bound to this
 * path that hears only this secret's `secret.rotation_due`. The same URL keeps its endpoint and
 * signing secret; a new URL replaces it (new secret, answered once); no URL removes it.
 */
export async function syncRotationWebhook(
  tx: StoreOps,
  audit: AuditLog,
  ctx: CallContext,
  path: string,
  rotation: SecretRotation | null,
  deps: { box: WebhookSecretBox; random: RandomSource; now: number },
): Promise<CreatedRotationWebhook | undefined> {
  const ws = ctx.principal.workspaceId;
  const url = rotation?.webhook;
  const bound = (await tx.listWorkspaceWebhooks(ws)).filter((w) => w.secretPath === path);
  const kept = url === undefined ? undefined : bound.find((w) => w.url === url);
  const auditEntry = (action: string, id: string, endpointUrl: string) =>
    webhookAuditEntry(ctx, action, id, { url: redactUrl(endpointUrl), events: EVENTS, secretPath: path });
  for (const w of bound) {
    if (w === kept) continue;
    await tx.deleteWebhook(ws, w.id);
    await audit.append(tx, auditEntry('webhook.deleted', w.id, w.url));
  }
  if (url === undefined || kept) return undefined;
  const id = newId('webhook', deps.random);
  const secret = newWebhookSecret(deps.random);
  await tx.insertWebhook({
    id,
    workspaceId: ws,
    url,
    events: EVENTS,
    sealedSecret: deps.box.seal(ws, id, secret),
    secretPath: path,
    createdAt: deps.now,
  });
  // The signing secret stays out of the audit log: it is a credential.
  await audit.append(tx, auditEntry('webhook.created', id, url));
  return { id, url, secret };
}
