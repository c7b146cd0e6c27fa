import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { type CreditsChange, keyView } from '../../core/keys/index.js';
import type { Credits } from '../../core/store/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page } from '../schemas/common.js';
import {
  Key,
  KeyCreate,
  KeyCreated,
  KeyListQuery,
  KeyParams,
  KeyUpdate,
  RevokeBody,
  RotateBody,
} from '../schemas/keys.js';
import { KeyspaceParams } from '../schemas/keyspaces.js';

const tags = ['keys'];
const security = [{ rootKey: [] }];

const toMs = (iso: string | null | undefined): number | null | undefined =>
  iso === undefined || iso === null ? iso : Date.parse(iso);

function creditsInput(c: Static<typeof KeyCreate>['credits']): Credits | null | undefined {
  if (c === undefined || c === null) return c;
  return {
    remaining: c.remaining,
    refill: c.refill ?? null,
    ...(c.lowThreshold !== undefined ? { lowThreshold: c.lowThreshold } : {}),
  };
}

export function keyRoutes(services: Services): FastifyPluginAsyncTypebox {
  const now = () => services.clock.now();
  return async (app) => {
    app.post(
      '/v1/keyspaces/:id/keys',
      {
        schema: {
          tags,
          security,
          summary: 'Issue a key',
          description:
            'Needs `keys.create` (or `keys.create:<keyspaceId>`). The answer carries the plaintext `key` this once; Keyward stores only its SHA-256.',
          params: KeyspaceParams,
          // Every field is optional, so no body at all is a key with the keyspace's defaults.
          body: Type.Optional(KeyCreate),
          response: { 201: KeyCreated, ...errors() },
        },
      },
      async (req, reply) => {
        const b = req.body ?? {};
        const created = await services.keys.create(callContext(req), req.params.id, {
          ...b,
          expiresAt: toMs(b.expiresAt),
          credits: creditsInput(b.credits),
        });
        return reply.code(201).send({ ...keyView(created.record, now()), key: created.key });
      },
    );

    app.get(
      '/v1/keyspaces/:id/keys',
      {
        schema: {
          tags,
          security,
          summary: 'List the keys of a keyspace, newest first',
          description: 'Needs `keys.read` (or `keys.read:<keyspaceId>`).',
          params: KeyspaceParams,
          querystring: KeyListQuery,
          response: { 200: Page(Key), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.keys.list(
          callContext(req),
          req.params.id,
          {
            ownerId: req.query.ownerId,
            status: req.query.status,
            expiresBefore: toMs(req.query.expiresBefore) ?? undefined,
            rotationDue: req.query.due,
            replaced: req.query.replaced,
          },
          { limit: limit + 1, after: decodeTimeCursor(req.query.cursor) },
        );
        const t = now();
        return pageOf(
          rows,
          limit,
          (k) => keyView(k, t),
          (k) => [k.createdAt, k.id],
        );
      },
    );

    app.get(
      '/v1/keys/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Get a key',
          description: 'Needs `keys.read`.',
          params: KeyParams,
          response: { 200: Key, ...errors() },
        },
      },
      async (req) => keyView(await services.keys.get(callContext(req), req.params.id), now()),
    );

    app.patch(
      '/v1/keys/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Update a key',
          description:
            'Needs `keys.update`. `{ "status": "disabled" }` disables, `"active"` re-enables. `credits: { remaining }` sets the balance, `{ increment }` adds to it. Takes effect on every verification from the moment the answer is sent.',
          params: KeyParams,
          body: KeyUpdate,
          response: { 200: Key, ...errors(409) },
        },
      },
      async (req) => {
        const b = req.body;
        const updated = await services.keys.update(callContext(req), req.params.id, {
          ...b,
          expiresAt: toMs(b.expiresAt),
          credits: b.credits as CreditsChange | null | undefined,
        });
        return keyView(updated, now());
      },
    );

    app.post(
      '/v1/keys/:id/revoke',
      {
        schema: {
          tags,
          security,
          summary: 'Revoke a key (final)',
          description:
            'Needs `keys.revoke`. The key verifies as `REVOKED` from the moment the answer is sent.',
          params: KeyParams,
          body: Type.Optional(RevokeBody),
          response: { 200: Key, ...errors() },
        },
      },
      async (req) =>
        keyView(await services.keys.revoke(callContext(req), req.params.id, req.body?.reason), now()),
    );

    app.post(
      '/v1/keys/:id/rotate',
      {
        schema: {
          tags,
          security,
          summary: 'Rotate a key',
          description:
            'Needs `keys.rotate`. Issues a replacement that copies name, owner, meta, scopes, restrictions and limits and shares the credit balance. The old key keeps working for `gracePeriodSeconds` (default 0: it stops at once) but never past its own expiry. 409 for a key that is revoked, disabled, expired or already replaced.',
          params: KeyParams,
          body: Type.Optional(RotateBody),
          response: { 201: KeyCreated, ...errors(409) },
        },
      },
      async (req, reply) => {
        const rotated = await services.keys.rotate(callContext(req), req.params.id, req.body ?? {});
        return reply.code(201).send({ ...keyView(rotated.record, now()), key: rotated.key });
      },
    );

    app.delete(
      '/v1/keys/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Delete a key',
          description: 'Needs `keys.delete`. Afterwards the key verifies as `NOT_FOUND` and GET answers 404.',
          params: KeyParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors() },
        },
      },
      async (req, reply) => {
        await services.keys.delete(callContext(req), req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
