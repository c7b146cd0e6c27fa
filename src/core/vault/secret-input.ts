import { invalid } from '../errors/index.js';
import type { SecretRecord, SecretRotation, SecretVersionMeta } from '../store/index.js';
import type { HostResolver } from '../webhooks/index.js';
import type { CreatedRotationWebhook } from './rotation-webhook.js';
import type { SecretLabel } from './secret-labels.js';

/** The largest value a version holds: 64 KiB of UTF-8. */
export const MAX_SECRET_BYTES = 64 * 1024;

export interface VaultOptions {
  /** Versions kept per secret; older unlabelled ones are pruned on write. */
  maxVersions: number;
  /** `KEYWARD_WEBHOOK_DENY_PRIVATE`: a `rotation.webhook` may not target loopback or private hosts. */
  denyPrivateWebhooks?: boolean | undefined;
  /** Resolves a `rotation.webhook` host when `denyPrivateWebhooks` is on. */
  resolveHost?: HostResolver | undefined;
}

export interface SecretWrite {
  value: string;
  /** Replaces the secret's meta; absent keeps it. */
  meta?: Record<string, unknown> | undefined;
  /** Check-and-set: the write succeeds only if the latest version is this one (0: the secret must not exist). */
  expectedVersion?: number | undefined;
  /** A rotation's write: labelled `pending`, and `current` stays until `confirm`. */
  pending?: boolean | undefined;
  /** Sets (or with null removes) the rotation policy; absent keeps it. */
  rotation?: SecretRotation | null | undefined;
}

export interface SecretChange {
  meta?: Record<string, unknown> | undefined;
  rotation?: SecretRotation | null | undefined;
}

export interface WrittenSecret {
  path: string;
  version: number;
  createdAt: number;
  labels: SecretLabel[];
  /** When this write set a new `rotation.webhook`: its endpoint and signing secret, this once. */
  rotationWebhook?: CreatedRotationWebhook | undefined;
}

export interface SecretValue {
  path: string;
  version: number;
  /** The plaintext. Callers hand it to the caller and nowhere else. */
  value: string;
  createdAt: number;
  labels: SecretLabel[];
  meta: Record<string, unknown>;
}

/** A secret's metadata and versions: everything but values. */
export interface SecretSummary {
  secret: SecretRecord;
  versions: SecretVersionMeta[];
  /** When this change set a new `rotation.webhook`: its endpoint and signing secret, this once. */
  rotationWebhook?: CreatedRotationWebhook | undefined;
}

/** The HTTP schema says the same; core checks again for callers that bypass it. */
export function checkRotation(rotation: SecretRotation | null | undefined): void {
  if (!rotation) return;
  if (!Number.isSafeInteger(rotation.maxAgeSeconds) || rotation.maxAgeSeconds < 60)
    throw invalid('/rotation/maxAgeSeconds', 'must be a whole number of seconds, at least 60');
  if (rotation.webhook !== undefined && !/^https?:\/\/[^\s]+$/.test(rotation.webhook))
    throw invalid('/rotation/webhook', 'must be an http:// or https:// URL');
}
