import type { UsageEventRecord } from '../usage-store.js';

/** A stored usage event for store tests (a VALID verification of `key_111111111111`), every field overridable. */
export function usageEventRecord(
  id: string,
  at: number,
  over: Partial<UsageEventRecord> = {},
): UsageEventRecord {
  return {
    id,
    at,
    workspaceId: 'ws_aaaaaaaaaaaa',
    keyId: 'key_111111111111',
    keyspaceId: 'ks_111111111111',
    code: 'VALID',
    ip: '203.0.113.7',
    origin: 'https://app.example.com',
    resource: '/v1/things',
    latencyUs: 42,
    ...over,
  };
}
