import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../server/services.js';

const Check = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('not configured')]),
  since: Type.Optional(Type.String()),
});

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Object({
    store: Check,
    redis: Check,
    ratelimits: Type.Object(
      {
        status: Type.Union([Type.Literal('redis'), Type.Literal('fallback'), Type.Literal('in-process')]),
        since: Type.Optional(Type.String()),
      },
      {
        description:
          '`redis`: limits are decided on Redis; `fallback`: Redis is unreachable for rate limits and this node decides its share of each limit (docs/ratelimits.md); `in-process`: no Redis configured',
      },
    ),
  }),
});

export function operationsRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process is up',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Readiness: the store answers and, when configured, Redis serves the cache bus and the rate limits',
          description:
            'A load balancer should send traffic only to nodes answering 200. 503 while the store is unreachable, the Redis subscription is down (such a node still answers, reading the store for every verification) or the rate limits run on their fallback (such a node still answers, within its share of each limit).',
          response: { 200: Readiness, 503: Readiness },
        },
      },
      async (_req, reply) => {
        const storeUp = await services.pingStore();
        const redisConfigured = services.config.redisUrl !== undefined;
        const redisUp = services.bus.healthy;
        const limits = services.dependencies.get('redis_ratelimit');
        const limitsUp = !redisConfigured || limits?.status !== 'down';
        const ready = storeUp && (!redisConfigured || redisUp) && limitsUp;
        const since = (d: 'store' | 'redis') => services.dependencies.get(d)?.since;
        const body = {
          status: ready ? ('ready' as const) : ('not ready' as const),
          checks: {
            store: { status: storeUp ? ('up' as const) : ('down' as const), since: since('store') },
            redis: redisConfigured
              ? { status: redisUp ? ('up' as const) : ('down' as const), since: since('redis') }
              : { status: 'not configured' as const },
            ratelimits: !redisConfigured
              ? { status: 'in-process' as const }
              : { status: limitsUp ? ('redis' as const) : ('fallback' as const), since: limits?.since },
          },
        };
        return reply.code(ready ? 200 : 503).send(body);
      },
    );

    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          // Documentation only: a text answer is sent as it is, never through a JSON serializer.
          response: {
            200: {
              type: 'string',
              description: 'The Prometheus text exposition format, version 0.0.4',
            },
          },
        },
      },
      async (_req, reply) => {
        const registry = services.metrics.registry;
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    );
  };
}
