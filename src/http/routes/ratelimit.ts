import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso } from '../../core/clock/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { errors, IsoTime } from '../schemas/common.js';

const LimitBody = Type.Object(
  {
    namespace: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: 'What is limited, e.g. `login`',
    }),
    identifier: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'Who is limited: a user id, an IP…',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    windowMs: Type.Integer({ minimum: 1, maximum: 31 * 24 * 3600 * 1000 }),
    cost: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 1 })),
  },
  { additionalProperties: false },
);

const LimitAnswer = Type.Object({
  success: Type.Boolean(),
  limit: Type.Integer(),
  remaining: Type.Integer(),
  resetAt: IsoTime('When room next frees up'),
});

export function ratelimitRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/ratelimit',
      {
        schema: {
          tags: ['rate limits'],
          security: [{ rootKey: [] }],
          summary: 'Rate-limit any identifier',
          description:
            'Needs `ratelimit.limit`. A sliding log, exact: in any interval of `windowMs`, the costs admitted for one namespace and identifier add up to at most `limit`, across all nodes sharing Redis. `cost` 0 checks without spending. Always 200 for a well-formed request; `success` is the decision.',
          body: LimitBody,
          response: { 200: LimitAnswer, ...errors() },
        },
      },
      async (req) => {
        const r = await services.standaloneLimits.limit(callContext(req), req.body);
        return { ...r, resetAt: toIso(r.resetAt) };
      },
    );
  };
}
