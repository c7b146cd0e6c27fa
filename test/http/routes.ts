import { expect } from 'vitest';
import type { Harness } from '../support/harness.js';
import { createKey, createKeyspace, uniqueName } from './fixtures.js';

/** Resources of one workspace that the routes below address. */
export interface World {
  keyspaceId: string;
  /** A keyspace without keys, so that deleting it can succeed. */
  emptyKeyspaceId: string;
  keyId: string;
  /** The plaintext of `keyId`. */
  key: string;
  rootKeyId: string;
  /** A secret's path, unique to this world. */
  secretPath: string;
  /** An alert rule on `keyId` (notify only). */
  alertRuleId: string;
  /** A webhook endpoint (never called: the dispatcher does not run in route tests). */
  webhookId: string;
  /** A delivery of `webhookId`. */
  deliveryId: string;
  /** An incident (a bulk revocation that matched no key). */
  incidentId: string;
}

/** Builds a fresh world in the workspace of `rootKey` (which needs `*`). */
export async function makeWorld(h: Harness, rootKey: string): Promise<World> {
  const ks = await createKeyspace(h, {}, rootKey);
  const empty = await createKeyspace(h, {}, rootKey);
  const key = await createKey(h, ks.id, {}, rootKey);
  // The root key the revoke route targets: one a key holding just root_keys.write may revoke
  // (a root key can only revoke root keys whose permissions it holds).
  const rk = await h.call('POST', '/v1/root-keys', { permissions: ['root_keys.write'] }, rootKey);
  expect(rk.status).toBe(201);
  const secretPath = `world/${uniqueName('secret')}`;
  const secret = await h.call('PUT', `/v1/secrets/${secretPath}`, { value: 'world value' }, rootKey);
  expect(secret.status).toBe(200);
  const rule = await h.call(
    'POST',
    '/v1/alert-rules',
    { name: 'world rule', keyId: key.id, condition: { type: 'new_ip' }, actions: ['notify'] },
    rootKey,
  );
  expect(rule.status).toBe(201);
  const webhook = await h.call(
    'POST',
    '/v1/webhooks',
    { url: 'http://127.0.0.1:9/world', events: ['key.updated'] },
    rootKey,
  );
  expect(webhook.status).toBe(201);
  // An event after the endpoint exists, fanned out into a delivery (but never sent).
  expect((await h.call('PATCH', `/v1/keys/${key.id}`, { meta: { world: true } }, rootKey)).status).toBe(200);
  await h.services.webhookDispatcher.fanOut();
  const deliveries = await h.call('GET', `/v1/webhooks/${webhook.body.id}/deliveries`, undefined, rootKey);
  // Earlier tests' key changes at the same (frozen) moment may be fanned out to it too.
  expect(deliveries.body.items.length).toBeGreaterThan(0);
  const incident = await h.call(
    'POST',
    '/v1/keys/revoke',
    { filter: { keyspaceId: ks.id, ownerId: uniqueName('nobody') }, reason: 'world incident' },
    rootKey,
  );
  expect(incident.status).toBe(200);
  return {
    incidentId: incident.body.incidentId,
    keyspaceId: ks.id,
    emptyKeyspaceId: empty.id,
    keyId: key.id,
    key: key.key,
    rootKeyId: rk.body.id,
    secretPath,
    alertRuleId: rule.body.id,
    webhookId: webhook.body.id,
    deliveryId: deliveries.body.items[0].id,
  };
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteCase {
  method: Method;
  /** The path as the OpenAPI document spells it. */
  path: string;
  /** What `{id}` names; null for a route that addresses no existing resource. */
  target:
    | 'keyspaceId'
    | 'emptyKeyspaceId'
    | 'keyId'
    | 'rootKeyId'
    | 'secretPath'
    | 'alertRuleId'
    | 'webhookId'
    | 'incidentId'
    | null;
  /** The URL to call, when it is not `path` with `{id}` replaced (secret paths, actions). */
  url?: (w: World) => string;
  /**
   * What a root key holding every plain permission but `permission` gets: 403 by default; a
   * secret path the caller may not read answers 404, as if it did not exist.
   */
  withoutPermission?: { status: number; code: string };
  /** The one permission the route needs. */
  permission: string;
  /** A valid body, or undefined for a route without one. */
  body?: (w: World) => unknown;
  /** The status of a successful call. */
  success: number;
}

const SECRET_HIDDEN = { status: 404, code: 'NOT_FOUND' };

/** Every /v1 route. security.test.ts and docs.test.ts check that it matches the app's routes. */
export const V1_ROUTES: RouteCase[] = [
  {
    method: 'POST',
    path: '/v1/keyspaces',
    target: null,
    permission: 'keyspaces.write',
    body: () => ({ name: uniqueName('new') }),
    success: 201,
  },
  { method: 'GET', path: '/v1/keyspaces', target: null, permission: 'keyspaces.read', success: 200 },
  {
    method: 'GET',
    path: '/v1/keyspaces/{id}',
    target: 'keyspaceId',
    permission: 'keyspaces.read',
    success: 200,
  },
  {
    method: 'PATCH',
    path: '/v1/keyspaces/{id}',
    target: 'keyspaceId',
    permission: 'keyspaces.write',
    body: () => ({ defaults: { scopes: ['read'] } }),
    success: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/keyspaces/{id}',
    target: 'emptyKeyspaceId',
    permission: 'keyspaces.write',
    success: 204,
  },
  {
    method: 'POST',
    path: '/v1/keyspaces/{id}/keys',
    target: 'keyspaceId',
    permission: 'keys.create',
    body: () => ({ ownerId: 'user_1' }),
    success: 201,
  },
  {
    method: 'GET',
    path: '/v1/keyspaces/{id}/keys',
    target: 'keyspaceId',
    permission: 'keys.read',
    success: 200,
  },
  { method: 'GET', path: '/v1/keys/{id}', target: 'keyId', permission: 'keys.read', success: 200 },
  {
    method: 'PATCH',
    path: '/v1/keys/{id}',
    target: 'keyId',
    permission: 'keys.update',
    body: () => ({ name: 'renamed' }),
    success: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/keys/{id}',
    target: 'keyId',
    permission: 'keys.delete',
    success: 204,
  },
  {
    method: 'POST',
    path: '/v1/keys/{id}/revoke',
    target: 'keyId',
    permission: 'keys.revoke',
    body: () => ({ reason: 'test' }),
    success: 200,
  },
  {
    method: 'POST',
    path: '/v1/keys/{id}/rotate',
    target: 'keyId',
    permission: 'keys.rotate',
    body: () => ({ gracePeriodSeconds: 60 }),
    success: 201,
  },
  {
    method: 'POST',
    path: '/v1/keys/verify',
    target: null,
    permission: 'keys.verify',
    body: (w) => ({ key: w.key }),
    success: 200,
  },
  { method: 'GET', path: '/v1/keys/{id}/usage', target: 'keyId', permission: 'usage.read', success: 200 },
  { method: 'GET', path: '/v1/keys/{id}/events', target: 'keyId', permission: 'usage.read', success: 200 },
  { method: 'GET', path: '/v1/audit', target: null, permission: 'audit.read', success: 200 },
  { method: 'GET', path: '/v1/audit/verify', target: null, permission: 'audit.read', success: 200 },
  {
    method: 'POST',
    path: '/v1/root-keys',
    target: null,
    permission: 'root_keys.write',
    body: () => ({ permissions: ['root_keys.write'] }),
    success: 201,
  },
  { method: 'GET', path: '/v1/root-keys', target: null, permission: 'root_keys.write', success: 200 },
  {
    method: 'POST',
    path: '/v1/root-keys/{id}/revoke',
    target: 'rootKeyId',
    permission: 'root_keys.write',
    success: 200,
  },
  {
    method: 'POST',
    path: '/v1/ratelimit',
    target: null,
    permission: 'ratelimit.limit',
    body: () => ({ namespace: 'login', identifier: 'user-1', limit: 10, windowMs: 60_000 }),
    success: 200,
  },
  { method: 'GET', path: '/v1/secrets', target: null, permission: 'secrets.read:*', success: 200 },
  {
    method: 'PUT',
    path: '/v1/secrets/{path}',
    // A write to a path that is free creates it: there is no "another workspace's" path to try.
    target: null,
    url: (w) => `/v1/secrets/${w.secretPath}`,
    permission: 'secrets.write:*',
    withoutPermission: SECRET_HIDDEN,
    body: () => ({ value: 'new value' }),
    success: 200,
  },
  {
    method: 'GET',
    path: '/v1/secrets/{path}',
    target: 'secretPath',
    url: (w) => `/v1/secrets/${w.secretPath}`,
    permission: 'secrets.read:*',
    withoutPermission: SECRET_HIDDEN,
    success: 200,
  },
  {
    method: 'PATCH',
    path: '/v1/secrets/{path}',
    target: 'secretPath',
    url: (w) => `/v1/secrets/${w.secretPath}`,
    permission: 'secrets.write:*',
    withoutPermission: SECRET_HIDDEN,
    body: () => ({ meta: { owner: 'payments' } }),
    success: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/secrets/{path}',
    target: 'secretPath',
    url: (w) => `/v1/secrets/${w.secretPath}`,
    permission: 'secrets.write:*',
    withoutPermission: SECRET_HIDDEN,
    success: 204,
  },
  {
    method: 'POST',
    path: '/v1/secrets/{path}:{action}',
    target: 'secretPath',
    url: (w) => `/v1/secrets/${w.secretPath}:restore`,
    permission: 'secrets.write:*',
    withoutPermission: SECRET_HIDDEN,
    success: 200,
  },
  {
    method: 'POST',
    path: '/v1/alert-rules',
    target: null,
    permission: 'alerts.write',
    body: (w) => ({
      name: 'spike',
      keyspaceId: w.keyspaceId,
      condition: { type: 'spike', factor: 3, windowSeconds: 60 },
      actions: ['notify'],
    }),
    success: 201,
  },
  { method: 'GET', path: '/v1/alert-rules', target: null, permission: 'alerts.write', success: 200 },
  {
    method: 'GET',
    path: '/v1/alert-rules/{id}',
    target: 'alertRuleId',
    permission: 'alerts.write',
    success: 200,
  },
  {
    method: 'PATCH',
    path: '/v1/alert-rules/{id}',
    target: 'alertRuleId',
    permission: 'alerts.write',
    body: () => ({ enabled: false }),
    success: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/alert-rules/{id}',
    target: 'alertRuleId',
    permission: 'alerts.write',
    success: 204,
  },
  { method: 'GET', path: '/v1/alerts', target: null, permission: 'usage.read', success: 200 },
  {
    method: 'POST',
    path: '/v1/webhooks',
    target: null,
    permission: 'webhooks.write',
    body: () => ({ url: 'https://hooks.example.com/keyward', events: ['key.revoked'] }),
    success: 201,
  },
  { method: 'GET', path: '/v1/webhooks', target: null, permission: 'webhooks.write', success: 200 },
  {
    method: 'GET',
    path: '/v1/webhooks/{id}',
    target: 'webhookId',
    permission: 'webhooks.write',
    success: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/webhooks/{id}',
    target: 'webhookId',
    permission: 'webhooks.write',
    success: 204,
  },
  {
    method: 'GET',
    path: '/v1/webhooks/{id}/deliveries',
    target: 'webhookId',
    permission: 'webhooks.write',
    success: 200,
  },
  {
    method: 'POST',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    target: 'webhookId',
    url: (w) => `/v1/webhooks/${w.webhookId}/deliveries/${w.deliveryId}/redeliver`,
    permission: 'webhooks.write',
    success: 202,
  },
  {
    method: 'POST',
    path: '/v1/keys/revoke',
    target: null,
    permission: 'keys.revoke',
    body: (w) => ({
      filter: { keyspaceId: w.keyspaceId, ownerId: 'nobody-at-all' },
      reason: 'security suite',
    }),
    success: 200,
  },
  { method: 'GET', path: '/v1/incidents/{id}', target: 'incidentId', permission: 'audit.read', success: 200 },
  {
    method: 'PATCH',
    path: '/v1/incidents/{id}',
    target: 'incidentId',
    permission: 'keys.revoke',
    body: () => ({ note: 'checked' }),
    success: 200,
  },
];

export function urlOf(route: RouteCase, world: World): string {
  if (route.url) return route.url(world);
  return route.target === null ? route.path : route.path.replace('{id}', world[route.target]);
}

/** The plain permissions of the contract, except `*`. */
export const PERMISSIONS = [
  'keyspaces.read',
  'keyspaces.write',
  'keys.create',
  'keys.read',
  'keys.update',
  'keys.rotate',
  'keys.revoke',
  'keys.delete',
  'keys.verify',
  'usage.read',
  'audit.read',
  'webhooks.write',
  'alerts.write',
  'root_keys.write',
  'ratelimit.limit',
];

/** `METHOD path` of every /v1 operation in an OpenAPI document. */
/** The documented /v1 routes that take a root key. */
export function documentedV1Routes(openapi: { paths: Record<string, Record<string, unknown>> }): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries(openapi.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, op] of Object.entries(ops)) {
      // Routes authenticated by something other than a root key (self-rotation: the API key
      // itself) have their own tests; this table is about root-key authorization.
      const security = (op as { security?: Record<string, unknown>[] }).security ?? [];
      if (!security.some((s) => 'rootKey' in s)) continue;
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        out.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return out.sort();
}
