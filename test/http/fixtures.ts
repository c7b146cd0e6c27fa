import { crc32 } from 'node:zlib';
import { expect } from 'vitest';
import type { Harness } from '../support/harness.js';

export type Reply = Awaited<ReturnType<Harness['call']>>;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The contract's checksum, computed independently of the server: CRC-32 in base62, 6 digits. */
export function contractChecksum(body: string): string {
  let n = crc32(Buffer.from(body, 'utf8'));
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = (BASE62[n % 62] ?? '') + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A key with a correct checksum that the server never issued. */
export function forgeKey(prefix: string, random = 'A'.repeat(32)): string {
  const body = `${prefix}_${random}`;
  return body + contractChecksum(body);
}

/** The same key with its last checksum character changed. */
export function breakChecksum(key: string): string {
  const last = key.at(-1);
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/** An id of the right shape that names nothing. */
export const UNKNOWN_ID = {
  keyspace: 'ks_00000000000000000000',
  key: 'key_00000000000000000000',
  rootKey: 'rk_00000000000000000000',
} as const;

/** Asserts an RFC 9457 answer with every field the contract promises. */
export function expectProblem(res: Reply, status: number, code?: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({
    status,
    code: code ?? expect.any(String),
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code: expect.any(String),
      requestId: expect.any(String),
    }),
  );
  expect(res.headers['x-request-id']).toBe(res.body.requestId);
}

let names = 0;
/** A keyspace name no other test of the run uses. */
export function uniqueName(base = 'api'): string {
  names += 1;
  return `${base}-${names}`;
}

export async function createKeyspace(h: Harness, body: Record<string, unknown> = {}, rootKey?: string) {
  const res = await h.call('POST', '/v1/keyspaces', { name: uniqueName(), ...body }, rootKey);
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; prefix: string };
}

export async function createKey(
  h: Harness,
  keyspaceId: string,
  body: Record<string, unknown> = {},
  rootKey?: string,
) {
  const res = await h.call('POST', `/v1/keyspaces/${keyspaceId}/keys`, body, rootKey);
  expect(res.status).toBe(201);
  return res.body as { id: string; key: string; [field: string]: unknown };
}

export async function verify(h: Harness, body: Record<string, unknown>, rootKey?: string) {
  const res = await h.call('POST', '/v1/keys/verify', body, rootKey);
  expect(res.status).toBe(200);
  return res.body as { valid: boolean; code: string; [field: string]: unknown };
}

/** Every audit entry of the caller's workspace, oldest first. */
export async function allAuditEntries(h: Harness, rootKey?: string) {
  const items: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await h.call(
      'GET',
      `/v1/audit?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      undefined,
      rootKey,
    );
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items.reverse();
}

export const SECOND = 1000;
export const HOUR = 3600 * SECOND;
export const DAY = 24 * HOUR;
