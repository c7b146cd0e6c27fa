import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import type { VerifyResult } from '../../core/verification/index.js';
import type { Config } from '../../server/config.js';
import type { Services } from '../../server/services.js';
import { lazyChildLoggerFactory } from '../log.js';
import { errors } from '../schemas/common.js';
import { VerifyBody, VerifyResponse } from '../schemas/keys.js';

type VerifyView = Static<typeof VerifyResponse>;

export function verifyView(r: VerifyResult): VerifyView {
  if (!('key' in r)) return { valid: false, code: r.code };
  const k = r.key;
  const view: VerifyView = {
    valid: r.valid,
    code: r.code,
    keyId: k.id,
    keyspaceId: k.keyspaceId,
    ownerId: k.ownerId,
    name: k.name,
    meta: k.meta,
    scopes: k.scopes,
    expiresAt: toIsoOrNull(k.expiresAt),
  };
  // Assigned rather than spread in: this runs on every verification.
  if (r.credits) view.credits = r.credits;
  const limits = r.ratelimits;
  if (limits) {
    const out: NonNullable<VerifyView['ratelimits']> = [];
    for (const l of limits)
      out.push({ name: l.name, limit: l.limit, remaining: l.remaining, resetAt: toIso(l.resetAt) });
    view.ratelimits = out;
  }
  return view;
}

/**
 * The verification route's log level. Every verification is already a usage event (who, when,
 * from where, with what outcome), so at the default `info` it does not also log the two request
 * lines Fastify writes for every call — at full load that would be tens of thousands of lines a
 * second. `debug` and `trace` still log them; errors are logged at every level.
 */
export function verifyLogLevel(configured: Config['logLevel']): Config['logLevel'] {
  return configured === 'info' ? 'warn' : configured;
}

export function verifyRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/keys/verify',
      {
        logLevel: verifyLogLevel(services.config.logLevel),
        // No pino child per verification unless it writes a line (see lazyChildLoggerFactory).
        childLoggerFactory: lazyChildLoggerFactory,
        schema: {
          tags: ['verification'],
          security: [{ rootKey: [] }],
          summary: 'Verify a key',
          description:
            'Needs `keys.verify` (a `keys.verify:<keyspaceId>` root key sees keys of other keyspaces as `NOT_FOUND`). Always 200 for a well-formed request; `code` is the outcome. Checks run in this order: revoked → disabled → expired → IP/origin → scopes → rate limits → credits. A key with IP or origin restrictions verified without `ip` or `origin` is `FORBIDDEN`.',
          body: VerifyBody,
          response: { 200: VerifyResponse, ...errors() },
        },
      },
      // Not async: Fastify sends what a synchronous handler returns, so a key decided from the
      // cache is answered without a promise.
      (req) => {
        const principal = req.principal;
        // requireRootKey ran in onRequest, so a principal is always there.
        if (!principal) throw new Error('unauthenticated request reached the verify handler');
        const result = services.verifier.verify(principal, req.body);
        return result instanceof Promise ? result.then(verifyView) : verifyView(result);
      },
    );
  };
}
