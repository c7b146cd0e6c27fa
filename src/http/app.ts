import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { KeywardError } from '../core/errors/index.js';
import { idSequence } from '../core/ids/index.js';
import type { Services } from '../server/services.js';
import { requireRootKey } from './auth.js';
import { coalesceWrites } from './coalesce.js';
import { completionLogging, logCompletionOnFinish, logsInfo, requestLoggerFactory } from './log.js';
import {
  MAX_PARAM_LENGTH,
  PROBLEM_CONTENT_TYPE,
  problemBody,
  sendProblem,
  toKeywardError,
} from './problem.js';
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
import { keepTickShapeAlive } from './tick-shape.js';
import { isOptionalBody, validatorCompiler } from './validation.js';

export interface AppOptions {
  /** A pino logger; none in tests. */
  logger?: FastifyServerOptions['loggerInstance'];
}

export const API_VERSION = '0.1.0';

/**
 * Answers a connection whose request Node.js could not parse (headers too large, a timeout, not
 * HTTP) with a problem, then closes it — as Fastify's own handler does, in the API's format.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex, requestId: string): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new KeywardError(
          'HEADERS_TOO_LARGE',
          'The request line and headers exceed the limit (16 KiB by default)',
        )
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new KeywardError('REQUEST_TIMEOUT', 'The request did not arrive in time')
        : new KeywardError('VALIDATION_FAILED', 'The request is not valid HTTP');
  if (socket.writable) {
    const body = JSON.stringify(problemBody(problem, requestId));
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** `POST /v1/keys/{id}/revoke` for Fastify's `POST` and `/v1/keys/:id/revoke`. */
function operationKey(method: string, url: string): string {
  return `${method.toUpperCase()} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

type OpenApiDocument = { paths?: Record<string, Record<string, { requestBody?: { required?: boolean } }>> };

/** Sets `requestBody.required` to false on the operations in `optional` (see operationKey). */
function markOptionalBodies<T>(document: T, optional: ReadonlySet<string>): T {
  for (const [path, operations] of Object.entries((document as OpenApiDocument).paths ?? {}))
    for (const [method, operation] of Object.entries(operations))
      if (operation.requestBody && optional.has(operationKey(method, path)))
        operation.requestBody.required = false;
  return document;
}

/**
 * Builds the HTTP app without listening, so tests drive it with `app.inject()`.
 * Routes are thin: a schema (validation and OpenAPI at once), one service call, the answer.
 */
export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  // Once per process: keeps process.nextTick on its fast path under load (see tick-shape.ts).
  keepTickShapeAlive();
  const requestIds = idSequence('request');
  const logger = opts.logger;
  const app = Fastify({
    // Requests log through children of `logger`, not through a Fastify logger (see log.ts).
    logger: false,
    ...(logger ? { childLoggerFactory: requestLoggerFactory(logger) } : {}),
    bodyLimit: services.config.bodyLimit,
    genReqId: requestIds,
    requestIdHeader: false,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false } },
    // What the router refuses before any route runs is a problem too.
    frameworkErrors: (err, req, reply) => {
      if (logger) logCompletionOnFinish(reply);
      return sendProblem(reply, req, toKeywardError(err));
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: (err, socket) => answerClientError(err, socket, requestIds()),
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (logger)
    // Before any route: each route that writes `info` lines also logs its completion.
    app.addHook('onRoute', (route) => {
      if (!logsInfo(route.logLevel, logger.level)) return;
      const hooks = route.onResponse;
      route.onResponse = hooks === undefined ? [completionLogging] : [hooks, completionLogging].flat();
    });
  // Routes whose body may be absent (isOptionalBody), as OpenAPI paths: swagger marks
  // every request body required, so these are set back to optional in the document.
  const optionalBodies = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (!isOptionalBody(route.schema?.body)) return;
    for (const method of [route.method].flat()) optionalBodies.add(operationKey(method, route.url));
  });
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
  app.setNotFoundHandler((req, reply) => {
    // No route, so no route hook: the completion is logged here.
    if (logger) logCompletionOnFinish(reply);
    return sendProblem(
      reply,
      req,
      new KeywardError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`),
    );
  });

  app.addSchema(Problem);
  await app.register(swagger, {
    transformObject: (document) =>
      markOptionalBodies(
        'openapiObject' in document ? document.openapiObject : document.swaggerObject,
        optionalBodies,
      ),
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
