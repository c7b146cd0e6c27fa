import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { KeywardError } from '../core/errors/index.js';
import { idSequence } from '../core/ids/index.js';
import type { Services } from '../server/services.js';
import { requireRootKey } from './auth.js';
import { coalesceWrites } from './coalesce.js';
import { sendProblem, toKeywardError } from './problem.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { incidentRoutes } from './routes/incidents.js';
import { keyRoutes } from './routes/keys.js';
import { keyspaceRoutes } from './routes/keyspaces.js';
import { operationsRoutes } from './routes/operations.js';
import { ratelimitRoutes } from './routes/ratelimit.js';
import { rootKeyRoutes } from './routes/root-keys.js';
import { secretRoutes } from './routes/secrets.js';
import { selfRotateRoutes } from './routes/self-rotate.js';
import { usageRoutes } from './routes/usage.js';
import { verifyRoutes } from './routes/verify.js';
import { webhookRoutes } from './routes/webhooks.js';
import { Problem } from './schemas/common.js';
import { validatorCompiler } from './validation.js';

export interface AppOptions {
  /** A pino logger; none in tests. */
  logger?: FastifyServerOptions['loggerInstance'];
}

export const API_VERSION = '0.1.0';

/**
 * Builds the HTTP app without listening, so tests drive it with `app.inject()`.
 * Routes are thin: a schema (validation and OpenAPI at once), one service call, the answer.
 */
export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: services.config.bodyLimit,
    genReqId: idSequence('request'),
    requestIdHeader: false,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (services.config.writeCoalescing === 'on') coalesceWrites(app.server);
  app.setValidatorCompiler(validatorCompiler());
  app.decorateRequest('principal', null);
  // Synchronous: a promise per response is measurable on the verification hot path.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  // An empty JSON body is "no body" (optional bodies on POST …/revoke), not a parse error.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    // Only a body that starts with whitespace can be blank: JSON bodies skip the trim's copy.
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) done(null, undefined);
    else jsonParser(req, text, done);
  });

  app.setErrorHandler((err, req, reply) => {
    const kw = toKeywardError(err);
    if (kw.code === 'INTERNAL') req.log.error({ err }, 'request failed');
    // An outage is logged once per transition by Dependencies, not once per request.
    if (kw.code === 'SERVICE_UNAVAILABLE') services.dependencies.set('store', false, kw.message);
    return sendProblem(reply, req, kw);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      req,
      new KeywardError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`),
    ),
  );

  app.addSchema(Problem);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keyward',
        version: API_VERSION,
        description:
          'Self-hostable API key management. Management and verification calls carry `Authorization: Bearer <root key>`. Every error is `application/problem+json` with a stable `code` (see docs/errors.md).',
      },
      components: {
        securitySchemes: {
          rootKey: { type: 'http', scheme: 'bearer', description: 'A root key (`kw_root_…`)' },
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key issued by Keyward (self-rotation)',
          },
        },
      },
      tags: [
        { name: 'keyspaces' },
        { name: 'keys' },
        { name: 'usage' },
        { name: 'verification' },
        { name: 'audit' },
        { name: 'root keys' },
        { name: 'rate limits' },
        { name: 'revocation' },
        { name: 'rotation' },
        { name: 'secrets' },
        { name: 'webhooks' },
        { name: 'alerts' },
        { name: 'operations' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(operationsRoutes(services));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Authenticated by the API key itself, not a root key: outside the /v1 root-key scope.
  await app.register(selfRotateRoutes(services));
  await app.register(async (v1) => {
    requireRootKey(v1, services);
    await v1.register(keyspaceRoutes(services));
    await v1.register(keyRoutes(services));
    await v1.register(verifyRoutes(services));
    await v1.register(auditRoutes(services));
    await v1.register(usageRoutes(services));
    await v1.register(rootKeyRoutes(services));
    await v1.register(ratelimitRoutes(services));
    await v1.register(incidentRoutes(services));
    await v1.register(secretRoutes(services));
    await v1.register(webhookRoutes(services));
    await v1.register(alertRoutes(services));
  });

  await app.ready();
  return app;
}
