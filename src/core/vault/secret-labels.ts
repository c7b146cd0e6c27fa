import type { SecretRecord, SecretRotation, SecretVersionMeta } from '../store/index.js';

/**
 * The labels of a secret's versions, after AWS Secrets Manager's AWSCURRENT / AWSPENDING /
 * AWSPREVIOUS staging labels:
 *
 * - `current`: what a read without `version` answers;
 * - `pending`: written by a rotation (`pending: true`) and not yet confirmed — readers keep
 *   getting `current` meanwhile;
 * - `previous`: what `current` was before the last promotion, still readable by label so
 *   clients holding the old credential can finish; it moves on at the next promotion.
 *
 * A plain write promotes the new version at once; a pending one waits for `confirm`.
 */
export const SECRET_LABELS = ['current', 'pending', 'previous'] as const;
export type SecretLabel = (typeof SECRET_LABELS)[number];

export type LabelState = Pick<
  SecretRecord,
  'currentVersion' | 'pendingVersion' | 'previousVersion' | 'currentSince'
>;

export function versionOfLabel(secret: SecretRecord, label: SecretLabel): number | null {
  if (label === 'current') return secret.currentVersion;
  if (label === 'pending') return secret.pendingVersion;
  return secret.previousVersion;
}

export function labelsOf(secret: LabelState, version: number): SecretLabel[] {
  const out: SecretLabel[] = [];
  if (secret.currentVersion === version) out.push('current');
  if (secret.pendingVersion === version) out.push('pending');
  if (secret.previousVersion === version) out.push('previous');
  return out;
}

/** The labels after writing `version`. A pending write to a secret without a current version becomes current. */
export function labelsAfterWrite(
  existing: SecretRecord | undefined,
  version: number,
  pending: boolean,
  now: number,
): LabelState {
  if (pending && existing && existing.currentVersion !== null)
    return {
      currentVersion: existing.currentVersion,
      pendingVersion: version,
      previousVersion: existing.previousVersion,
      currentSince: existing.currentSince,
    };
  return {
    currentVersion: version,
    pendingVersion: null,
    previousVersion: existing?.currentVersion ?? null,
    currentSince: now,
  };
}

/** The labels after `confirm`: `version` becomes current, the old current becomes previous. */
export function labelsAfterPromotion(secret: SecretRecord, version: number, now: number): LabelState {
  return {
    currentVersion: version,
    pendingVersion: secret.pendingVersion === version ? null : secret.pendingVersion,
    previousVersion: secret.currentVersion,
    currentSince: now,
  };
}

export function rotationDueAt(rotation: SecretRotation | null, currentSince: number | null): number | null {
  return rotation === null || currentSince === null ? null : currentSince + rotation.maxAgeSeconds * 1000;
}

/**
 * The versions to prune after a write: beyond the newest `keep`, except those holding a label —
 * a rotation in flight never loses its `previous` or `pending` version to pruning.
 */
export function versionsToPrune(versions: SecretVersionMeta[], labels: LabelState, keep: number): number[] {
  const newestFirst = versions.map((v) => v.version).sort((a, b) => b - a);
  const labelled = new Set([labels.currentVersion, labels.pendingVersion, labels.previousVersion]);
  return newestFirst.slice(keep).filter((v) => !labelled.has(v));
}
