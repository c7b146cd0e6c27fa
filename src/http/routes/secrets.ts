import type { SwaggerTransform } from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import { invalid, KeywardError } from '../../core/errors/index.js';
import type { SecretSummary, WrittenSecret } from '../../core/vault/index.js';
import { SECRET_LABELS } from '../../core/vault/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page } from '../schemas/common.js';
import {
  SecretActionBody,
  SecretActionParams,
  SecretGetQuery,
  SecretListQuery,
  SecretMetadata,
  SecretParams,
  SecretPatch,
  SecretPut,
  SecretValue,
  SecretWritten,
  WildcardParams,
} from '../schemas/secrets.js';

export function secretMetadataView({ secret: s, versions, rotationWebhook }: SecretSummary) {
  const labelsOf = (v: number) =>
    SECRET_LABELS.filter(
      (l) =>
        (l === 'current' ? s.currentVersion : l === 'pending' ? s.pendingVersion : s.previousVersion) === v,
    );
  return {
    path: s.path,
    version: s.currentVersion,
    latestVersion: s.latestVersion,
    labels: { current: s.currentVersion, pending: s.pendingVersion, previous: s.previousVersion },
    versions: versions.map((v) => ({
      version: v.version,
      createdAt: toIso(v.createdAt),
      createdBy: v.createdBy,
      destroyedAt: toIsoOrNull(v.destroyedAt),
      labels: labelsOf(v.version),
    })),
    meta: s.meta,
    rotation: s.rotation,
    rotationDueAt: toIsoOrNull(s.rotationDueAt),
    createdAt: toIso(s.createdAt),
    updatedAt: toIso(s.updatedAt),
    deletedAt: toIsoOrNull(s.deletedAt),
    ...(rotationWebhook ? { rotationWebhook } : {}),
  };
}

const writtenView = (w: WrittenSecret) => ({ ...w, createdAt: toIso(w.createdAt) });

const tags = ['secrets'];
const security = [{ rootKey: [] }];

/**
 * Paths contain `/`, so the routes are Fastify wildcards (`/v1/secrets/*`); the OpenAPI
 * document names the parameter `path` instead of `*`.
 */
const documentedAs =
  (url: string, params: object): SwaggerTransform =>
  ({ schema }) =>
    ({ schema: { ...schema, params }, url }) as ReturnType<SwaggerTransform>;
const asPath = documentedAs('/v1/secrets/:path', SecretParams);
// `::` is a literal colon for @fastify/swagger: the document reads /v1/secrets/{path}:{action}.
const asAction = documentedAs('/v1/secrets/:path::action', SecretActionParams);

const ACCESS =
  'A caller whose `secrets.read:<glob>` does not cover the path gets 404 whether or not it exists; one that may read but not write gets 403 on writes. Every call is an audit entry (path and version, never the value).';

export function secretRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/secrets',
      {
        schema: {
          tags,
          security,
          summary: 'List secrets, newest first',
          description:
            'Names, versions, labels and metadata — never values. Lists only the secrets the caller may read (`secrets.read:<glob>`); a root key without any read grant gets 403.',
          querystring: SecretListQuery,
          response: { 200: Page(SecretMetadata), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const at = decodeTimeCursor(req.query.cursor);
        const rows = await services.vault.list(callContext(req), {
          prefix: req.query.prefix,
          deleted: req.query.deleted ?? false,
          limit: limit + 1,
          after: at && { createdAt: at.createdAt, path: at.id },
        });
        return pageOf(rows, limit, secretMetadataView, (r) => [r.secret.createdAt, r.secret.path]);
      },
    );

    app.put(
      '/v1/secrets/*',
      {
        config: { swaggerTransform: asPath },
        schema: {
          tags,
          security,
          summary: 'Write a new version of a secret',
          description: `Needs \`secrets.write\` on the path. Each write is a new version, sealed with AES-256-GCM under its own data key. Writing to a soft-deleted secret restores it. ${ACCESS}`,
          params: WildcardParams,
          body: SecretPut,
          response: { 200: SecretWritten, ...errors(409) },
        },
      },
      async (req) => writtenView(await services.vault.put(callContext(req), req.params['*'], req.body)),
    );

    app.get(
      '/v1/secrets/*',
      {
        config: { swaggerTransform: asPath },
        schema: {
          tags,
          security,
          summary: 'Read a secret',
          description: `Needs \`secrets.read\` on the path. Answers the current version, or the one named by \`version\` or \`label\`. A soft-deleted secret, a destroyed or pruned version answer 404. ${ACCESS}`,
          params: WildcardParams,
          querystring: SecretGetQuery,
          response: { 200: SecretValue, ...errors() },
        },
      },
      async (req, reply) => {
        if (req.query.version !== undefined && req.query.label !== undefined)
          throw invalid('querystring:/label', 'cannot be combined with version');
        const secret = await services.vault.get(callContext(req), req.params['*'], req.query);
        // The answer holds a credential: no cache on the way may keep it.
        reply.header('cache-control', 'no-store');
        return { ...secret, createdAt: toIso(secret.createdAt) };
      },
    );

    app.patch(
      '/v1/secrets/*',
      {
        config: { swaggerTransform: asPath },
        schema: {
          tags,
          security,
          summary: "Change a secret's meta or rotation policy",
          description: `Needs \`secrets.write\` on the path. Writes no version. ${ACCESS}`,
          params: WildcardParams,
          body: SecretPatch,
          response: { 200: SecretMetadata, ...errors() },
        },
      },
      async (req) =>
        secretMetadataView(await services.vault.update(callContext(req), req.params['*'], req.body)),
    );

    app.delete(
      '/v1/secrets/*',
      {
        config: { swaggerTransform: asPath },
        schema: {
          tags,
          security,
          summary: 'Delete a secret (soft)',
          description: `Needs \`secrets.write\` on the path. The secret disappears from reads and listings; \`POST /v1/secrets/{path}:restore\` (or a new write) brings it back with every version. To erase a value for good, destroy its version. ${ACCESS}`,
          params: WildcardParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors() },
        },
      },
      async (req, reply) => {
        await services.vault.delete(callContext(req), req.params['*']);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/secrets/*',
      {
        config: { swaggerTransform: asAction },
        schema: {
          tags,
          security,
          summary: 'Restore a secret, destroy a version, or confirm a version',
          description: `Needs \`secrets.write\` on the path. \`:restore\` undoes a soft delete. \`:destroy\` with \`{ "version": n }\` erases that version's ciphertext and data key for good (its number stays taken). \`:confirm\` with \`{ "version": n }\` makes it current: the end of a rotation (the pending version becomes current, the old current becomes \`previous\`), or a rollback to an older version. ${ACCESS}`,
          params: WildcardParams,
          body: SecretActionBody,
          response: { 200: SecretMetadata, ...errors(409) },
        },
      },
      async (req) => {
        const raw = req.params['*'];
        const colon = raw.lastIndexOf(':');
        const action = colon < 0 ? '' : raw.slice(colon + 1);
        const path = raw.slice(0, colon);
        const version = req.body?.version;
        const ctx = callContext(req);
        if (action === 'restore') return secretMetadataView(await services.vault.restore(ctx, path));
        if (action !== 'destroy' && action !== 'confirm')
          throw new KeywardError(
            'ROUTE_NOT_FOUND',
            `No route POST ${req.url.split('?')[0]}: POST /v1/secrets/{path}:restore, :destroy or :confirm`,
          );
        if (version === undefined) throw invalid('/version', `is required to ${action}`);
        const done =
          action === 'destroy'
            ? await services.vault.destroy(ctx, path, [version])
            : await services.vault.confirm(ctx, path, version);
        return secretMetadataView(done);
      },
    );
  };
}
