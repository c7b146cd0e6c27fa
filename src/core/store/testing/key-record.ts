import type { KeyRecord } from '../records.js';

/** A stored key for store tests: plain defaults, every field overridable. */
export function keyRecord(id: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    workspaceId: 'ws_aaaaaaaaaaaa',
    keyspaceId: 'ks_111111111111',
    hash: `hash-${id}`,
    start: 'kw_abcd',
    name: null,
    ownerId: null,
    meta: {},
    scopes: [],
    status: 'active',
    expiresAt: null,
    createdAt: 100,
    updatedAt: 100,
    lastUsedAt: null,
    ratelimits: [],
    restrictions: { ips: [], origins: [] },
    replaces: null,
    replacedBy: null,
    lineageId: id,
    revokedAt: null,
    revokeReason: null,
    ...over,
  };
}
