import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import type { RootKeyRecord } from '../../core/store/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page, PageQuery } from '../schemas/common.js';
import { RootKey, RootKeyCreate, RootKeyCreated, RootKeyParams } from '../schemas/root-keys.js';

export function rootKeyView(r: RootKeyRecord) {
  return {
    id: r.id,
    name: r.name,
    start: r.start,
    permissions: r.permissions,
    createdAt: toIso(r.createdAt),
    revokedAt: toIsoOrNull(r.revokedAt),
  };
}

const tags = ['root keys'];
const security = [{ rootKey: [] }];

export function rootKeyRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/root-keys',
      {
        schema: {
          tags,
          security,
          summary: 'Create a root key',
          description:
            'Needs `root_keys.write`. A root key can grant only permissions it holds itself. The plaintext `key` is returned this once.',
          body: RootKeyCreate,
          response: { 201: RootKeyCreated, ...errors() },
        },
      },
      async (req, reply) => {
        const created = await services.rootKeys.create(callContext(req), req.body);
        return reply.code(201).send({ ...rootKeyView(created.record), key: created.key });
      },
    );

    app.get(
      '/v1/root-keys',
      {
        schema: {
          tags,
          security,
          summary: 'List root keys, newest first',
          description: 'Needs `root_keys.write`.',
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(RootKey), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.rootKeys.list(callContext(req), {
          limit: limit + 1,
          after: decodeTimeCursor(req.query.cursor),
        });
        return pageOf(rows, limit, rootKeyView, (r) => [r.createdAt, r.id]);
      },
    );

    app.post(
      '/v1/root-keys/:id/revoke',
      {
        schema: {
          tags,
          security,
          summary: 'Revoke a root key',
          description:
            'Needs `root_keys.write`, and every permission the revoked root key holds (403 otherwise: a narrow key cannot lock out a stronger one). The root key is refused from the moment the answer is sent.',
          params: RootKeyParams,
          response: { 200: RootKey, ...errors() },
        },
      },
      async (req) => rootKeyView(await services.rootKeys.revoke(callContext(req), req.params.id)),
    );
  };
}
