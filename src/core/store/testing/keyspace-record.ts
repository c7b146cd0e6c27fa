import type { KeyspaceRecord } from '../records.js';

/** A stored keyspace for store tests (`api`, prefix `kw`): plain defaults, every field overridable. */
export function keyspaceRecord(
  id: string,
  workspaceId: string,
  over: Partial<KeyspaceRecord> = {},
): KeyspaceRecord {
  return {
    id,
    workspaceId,
    name: 'api',
    prefix: 'kw',
    defaults: {},
    rotation: {},
    createdAt: 1,
    updatedAt: 1,
    ...over,
  };
}
