import type {
  AuditRecord,
  Credits,
  KeyRecord,
  KeyspaceRecord,
  KeyWithCredits,
  RootKeyRecord,
  StoredKeyStatus,
} from '../../core/store/index.js';
import type { AuditLogTable, KeyCreditsTable, KeyspacesTable, KeysTable, RootKeysTable } from './schema.js';
import { num, numOrNull } from './sql-values.js';

export function toRootKey(r: RootKeysTable): RootKeyRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    hash: r.hash,
    start: r.start,
    permissions: JSON.parse(r.permissions) as string[],
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function fromRootKey(r: RootKeyRecord): RootKeysTable {
  return {
    id: r.id,
    workspace_id: r.workspaceId,
    name: r.name,
    hash: r.hash,
    start: r.start,
    permissions: JSON.stringify(r.permissions),
    created_at: r.createdAt,
    revoked_at: r.revokedAt,
  };
}

export function toKeyspace(r: KeyspacesTable): KeyspaceRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    prefix: r.prefix,
    defaults: JSON.parse(r.defaults) as KeyspaceRecord['defaults'],
    rotation: JSON.parse(r.rotation) as KeyspaceRecord['rotation'],
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function fromKeyspace(k: KeyspaceRecord): KeyspacesTable {
  return {
    id: k.id,
    workspace_id: k.workspaceId,
    name: k.name,
    prefix: k.prefix,
    defaults: JSON.stringify(k.defaults),
    rotation: JSON.stringify(k.rotation),
    created_at: k.createdAt,
    updated_at: k.updatedAt,
  };
}

export function toKey(r: KeysTable): KeyRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    keyspaceId: r.keyspace_id,
    hash: r.hash,
    start: r.start,
    name: r.name,
    ownerId: r.owner_id,
    meta: JSON.parse(r.meta) as Record<string, unknown>,
    scopes: JSON.parse(r.scopes) as string[],
    status: r.status as StoredKeyStatus,
    expiresAt: numOrNull(r.expires_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    lastUsedAt: numOrNull(r.last_used_at),
    ratelimits: JSON.parse(r.ratelimits) as KeyRecord['ratelimits'],
    restrictions: JSON.parse(r.restrictions) as KeyRecord['restrictions'],
    replaces: r.replaces,
    replacedBy: r.replaced_by,
    lineageId: r.lineage_id,
    revokedAt: numOrNull(r.revoked_at),
    revokeReason: r.revoke_reason,
  };
}

export function fromKey(k: KeyRecord): KeysTable {
  return {
    id: k.id,
    workspace_id: k.workspaceId,
    keyspace_id: k.keyspaceId,
    hash: k.hash,
    start: k.start,
    name: k.name,
    owner_id: k.ownerId,
    meta: JSON.stringify(k.meta),
    scopes: JSON.stringify(k.scopes),
    status: k.status,
    expires_at: k.expiresAt,
    created_at: k.createdAt,
    updated_at: k.updatedAt,
    last_used_at: k.lastUsedAt,
    ratelimits: JSON.stringify(k.ratelimits),
    restrictions: JSON.stringify(k.restrictions),
    replaces: k.replaces,
    replaced_by: k.replacedBy,
    lineage_id: k.lineageId,
    revoked_at: k.revokedAt,
    revoke_reason: k.revokeReason,
  };
}

type CreditCols = Pick<
  KeyCreditsTable,
  'remaining' | 'refill_amount' | 'refill_interval' | 'refill_day' | 'low_threshold'
>;

export function toCredits(c: { [K in keyof CreditCols]: CreditCols[K] | null }): Credits | null {
  if (c.remaining === null) return null;
  const credits: Credits = {
    remaining: num(c.remaining),
    refill:
      c.refill_amount !== null && c.refill_interval !== null
        ? {
            amount: num(c.refill_amount),
            interval: c.refill_interval as 'daily' | 'monthly',
            ...(c.refill_day !== null ? { day: num(c.refill_day) } : {}),
          }
        : null,
  };
  if (c.low_threshold !== null) credits.lowThreshold = num(c.low_threshold);
  return credits;
}

export function toKeyWithCredits(
  r: KeysTable & { [K in keyof CreditCols]: CreditCols[K] | null },
): KeyWithCredits {
  return { ...toKey(r), credits: toCredits(r) };
}

export function toAudit(r: AuditLogTable): AuditRecord {
  return {
    workspaceId: r.workspace_id,
    seq: num(r.seq),
    at: num(r.at),
    actor: r.actor,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    data: JSON.parse(r.data) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
