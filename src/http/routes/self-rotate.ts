import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import { KeywardError } from '../../core/errors/index.js';
import { hashKey, hasValidChecksum } from '../../core/keys/index.js';
import type { Services } from '../../server/services.js';
import { errors, IsoTime, Nullable } from '../schemas/common.js';

const SELF_ROTATION_LIMIT = [{ name: 'self_rotate', limit: 10, windowMs: 3_600_000 }];

function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

export function selfRotateRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/self/rotate',
      {
        schema: {
          tags: ['rotation'],
          security: [{ apiKey: [] }],
          summary: 'Rotate the presented API key (by its consumer)',
          description:
            'Authenticated with `Authorization: Bearer <the API key itself>`, where the keyspace has `rotation.selfRotation: true`. Answers the replacement (plaintext `key`, shown once) and when the old key stops (`graceEndsAt`: the keyspace grace period, one hour by default, and for a key already due no later than its scheduled end). 401 for an unknown, revoked, disabled or expired key; 403 where the keyspace does not allow it; 409 `KEY_ALREADY_REPLACED` when a replacement was already issued; 429 after 10 calls an hour per key lineage.',
          response: {
            201: Type.Object({
              id: Type.String(),
              key: Type.String({ description: 'The replacement key: shown this once' }),
              keyspaceId: Type.String(),
              start: Type.String(),
              replaces: Type.String(),
              expiresAt: Nullable(IsoTime()),
              graceEndsAt: IsoTime('When the presented (old) key stops working'),
            }),
            ...errors(409),
          },
        },
      },
      async (req, reply) => {
        const presented = bearer(req.headers.authorization);
        if (!presented)
          throw new KeywardError('UNAUTHORIZED', 'A valid API key is required in the Authorization header');
        // Rate limited per lineage before any work, so a consumer in a retry loop cannot churn keys.
        const found = hasValidChecksum(presented)
          ? await services.store.getKeyByHash(hashKey(presented))
          : undefined;
        if (found) {
          const decision = await services.limiter.limit(`self:${found.lineageId}`, SELF_ROTATION_LIMIT, 1);
          if (!decision.success) {
            const retry = Math.max(
              1,
              Math.ceil(((decision.results[0]?.resetAt ?? 0) - services.clock.now()) / 1000),
            );
            reply.header('retry-after', String(retry));
            throw new KeywardError(
              'RATE_LIMITED',
              `Self-rotation is limited to 10 calls an hour; retry after ${retry} s`,
            );
          }
        }
        const rotated = await services.keys.selfRotate(presented, req.ip);
        return reply.code(201).send({
          id: rotated.record.id,
          key: rotated.key,
          keyspaceId: rotated.record.keyspaceId,
          start: rotated.record.start,
          replaces: rotated.old.id,
          expiresAt: toIsoOrNull(rotated.record.expiresAt),
          graceEndsAt: toIso(rotated.old.expiresAt ?? services.clock.now()),
        });
      },
    );
  };
}
