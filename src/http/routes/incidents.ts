import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import type { IncidentReport } from '../../core/revocation/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { errors, Id, IsoTime, Nullable } from '../schemas/common.js';

const BulkRevokeBody = Type.Object(
  {
    filter: Type.Object(
      {
        keyspaceId: Type.Optional(Id('keyspace')),
        ownerId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        createdBefore: Type.Optional(IsoTime('Only keys created before this moment')),
        createdAfter: Type.Optional(IsoTime('Only keys created after this moment')),
      },
      { additionalProperties: false, description: 'Needs at least `keyspaceId` or `ownerId`' },
    ),
    reason: Type.String({ minLength: 1, maxLength: 1000, description: 'Why: kept on the incident' }),
  },
  { additionalProperties: false },
);

const IncidentParams = Type.Object({ id: Id('incident') });

const IncidentAnswer = Type.Object(
  {
    id: Type.String(),
    reason: Type.String(),
    actor: Type.String(),
    status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
    keys: Type.Array(Type.String(), { description: 'Ids of the keys this incident revoked' }),
    filter: Type.Record(Type.String(), Type.Unknown()),
    createdAt: IsoTime(),
    closedAt: Nullable(IsoTime()),
    notes: Type.Array(Type.Object({ at: IsoTime(), actor: Type.String(), text: Type.String() })),
    timeline: Type.Array(
      Type.Object({
        at: IsoTime(),
        keyId: Nullable(Type.String()),
        event: Type.String({
          description:
            '`incident.declared`, `key.revoked`, `key.verified`, `incident.note`, `incident.closed`',
        }),
        detail: Type.Record(Type.String(), Type.Unknown()),
      }),
      {
        description:
          'What happened around the revocation: the revoked keys’ usage from an hour before to an hour after',
      },
    ),
    timelineTruncated: Type.Boolean(),
    usage: Type.Array(
      Type.Object({
        keyId: Type.String(),
        firstUsedAt: Nullable(IsoTime()),
        lastUsedAt: Nullable(IsoTime()),
        verifications: Type.Integer(),
        failures: Type.Integer(),
        distinctIps: Type.Integer(),
        attemptsAfterRevocation: Type.Integer(),
      }),
      { description: 'Per revoked key, its usage in the timeline window' },
    ),
  },
  { $id: 'Incident' },
);

export function incidentView(r: IncidentReport) {
  const i = r.incident;
  return {
    id: i.id,
    reason: i.reason,
    actor: i.actor,
    status: i.status,
    keys: i.keyIds,
    filter: i.filter,
    createdAt: toIso(i.createdAt),
    closedAt: toIsoOrNull(i.closedAt),
    notes: i.notes.map((n) => ({ at: toIso(n.at), actor: n.actor, text: n.text })),
    timeline: r.timeline.map((t) => ({ ...t, at: toIso(t.at) })),
    timelineTruncated: r.truncated,
    usage: r.keys.map((k) => ({
      ...k,
      firstUsedAt: toIsoOrNull(k.firstUsedAt),
      lastUsedAt: toIsoOrNull(k.lastUsedAt),
    })),
  };
}

const tags = ['revocation'];
const security = [{ rootKey: [] }];
const toMs = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

export function incidentRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/keys/revoke',
      {
        schema: {
          tags,
          security,
          summary: 'Emergency revocation of many keys',
          description:
            'Needs `keys.revoke` (narrowed to the filter’s keyspace, or whole without one). Revokes every matching key in one transaction, invalidates them on every node, records one incident and a `key.revoked` event per key. `revoked` counts keys newly revoked.',
          body: BulkRevokeBody,
          response: { 200: Type.Object({ revoked: Type.Integer(), incidentId: Type.String() }), ...errors() },
        },
      },
      async (req) => {
        const f = req.body.filter;
        return services.revocations.revokeMany(callContext(req), {
          reason: req.body.reason,
          filter: {
            ...(f.keyspaceId !== undefined ? { keyspaceId: f.keyspaceId } : {}),
            ...(f.ownerId !== undefined ? { ownerId: f.ownerId } : {}),
            ...(f.createdBefore !== undefined ? { createdBefore: toMs(f.createdBefore) } : {}),
            ...(f.createdAfter !== undefined ? { createdAfter: toMs(f.createdAfter) } : {}),
          },
        });
      },
    );

    app.get(
      '/v1/incidents/:id',
      {
        schema: {
          tags,
          security,
          summary: 'An incident: what was revoked, why, by whom, and the keys’ usage around it',
          description: 'Needs `audit.read`.',
          params: IncidentParams,
          response: { 200: IncidentAnswer, ...errors() },
        },
      },
      async (req) => incidentView(await services.revocations.get(callContext(req), req.params.id)),
    );

    app.patch(
      '/v1/incidents/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Add an investigation note, close or reopen an incident',
          description: 'Needs `keys.revoke`. Notes are appended, never edited.',
          params: IncidentParams,
          body: Type.Object(
            {
              note: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
              status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: IncidentAnswer, ...errors(409) },
        },
      },
      async (req) =>
        incidentView(await services.revocations.update(callContext(req), req.params.id, req.body)),
    );
  };
}
