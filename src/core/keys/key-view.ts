import { toIso, toIsoOrNull } from '../clock/index.js';
import type { KeyWithCredits } from '../store/index.js';

export type KeyStatus = 'active' | 'disabled' | 'revoked' | 'expired';

/** `expired` is not stored: an active key past its `expiresAt` is expired. */
export function effectiveStatus(k: { status: string; expiresAt: number | null }, now: number): KeyStatus {
  if (k.status === 'active' && k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  return k.status as KeyStatus;
}

/** The public key object. It has no field for the plaintext or the hash, by construction. */
export function keyView(k: KeyWithCredits, now: number) {
  return {
    id: k.id,
    keyspaceId: k.keyspaceId,
    start: k.start,
    name: k.name,
    ownerId: k.ownerId,
    meta: k.meta,
    scopes: k.scopes,
    status: effectiveStatus(k, now),
    expiresAt: toIsoOrNull(k.expiresAt),
    createdAt: toIso(k.createdAt),
    updatedAt: toIso(k.updatedAt),
    lastUsedAt: toIsoOrNull(k.lastUsedAt),
    revokedAt: toIsoOrNull(k.revokedAt),
    credits: k.credits,
    ratelimits: k.ratelimits,
    restrictions: k.restrictions,
    replaces: k.replaces,
    replacedBy: k.replacedBy,
  };
}

export type KeyView = ReturnType<typeof keyView>;
