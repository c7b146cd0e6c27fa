import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso } from '../../core/clock/index.js';
import type { KeyspaceRecord } from '../../core/store/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page, PageQuery } from '../schemas/common.js';
import { Keyspace, KeyspaceCreate, KeyspaceParams, KeyspaceUpdate } from '../schemas/keyspaces.js';

export function keyspaceView(k: KeyspaceRecord) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    defaults: k.defaults,
    rotation: k.rotation,
    createdAt: toIso(k.createdAt),
    updatedAt: toIso(k.updatedAt),
  };
}

const tags = ['keyspaces'];
const security = [{ rootKey: [] }];

export function keyspaceRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/keyspaces',
      {
        schema: {
          tags,
          security,
          summary: 'Create a keyspace',
          description: 'Needs `keyspaces.write`.',
          body: KeyspaceCreate,
          response: { 201: Keyspace, ...errors(409) },
        },
      },
      async (req, reply) => {
        const ks = await services.keyspaces.create(callContext(req), req.body);
        return reply.code(201).send(keyspaceView(ks));
      },
    );

    app.get(
      '/v1/keyspaces',
      {
        schema: {
          tags,
          security,
          summary: 'List keyspaces, newest first',
          description: 'Needs `keyspaces.read`.',
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(Keyspace), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.keyspaces.list(callContext(req), {
          limit: limit + 1,
          after: decodeTimeCursor(req.query.cursor),
        });
        return pageOf(rows, limit, keyspaceView, (k) => [k.createdAt, k.id]);
      },
    );

    app.get(
      '/v1/keyspaces/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Get a keyspace',
          description: 'Needs `keyspaces.read`.',
          params: KeyspaceParams,
          response: { 200: Keyspace, ...errors() },
        },
      },
      async (req) => keyspaceView(await services.keyspaces.get(callContext(req), req.params.id)),
    );

    app.patch(
      '/v1/keyspaces/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Update a keyspace',
          description: 'Needs `keyspaces.write`. A new prefix applies to keys issued afterwards.',
          params: KeyspaceParams,
          body: KeyspaceUpdate,
          response: { 200: Keyspace, ...errors(409) },
        },
      },
      async (req) => keyspaceView(await services.keyspaces.update(callContext(req), req.params.id, req.body)),
    );

    app.delete(
      '/v1/keyspaces/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Delete an empty keyspace',
          description:
            'Needs `keyspaces.write`. A keyspace that still has keys answers 409 `KEYSPACE_NOT_EMPTY`.',
          params: KeyspaceParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors(409) },
        },
      },
      async (req, reply) => {
        await services.keyspaces.delete(callContext(req), req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
