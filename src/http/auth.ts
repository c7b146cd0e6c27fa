import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeywardError } from '../core/errors/index.js';
import type { CallContext, Principal } from '../core/root-keys/index.js';
import type { Services } from '../server/services.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/**
 * Authenticates every route registered in `scope` in `onRequest`, before the body is parsed or
 * validated: a caller without a valid root key learns nothing, not even what a valid body is.
 */
export function requireRootKey(scope: FastifyInstance, services: Services): void {
  const limit = services.config.rootKeyRateLimit;
  const policy = [{ name: 'root_key', limit, windowMs: 1_000 }];
  scope.addHook('onRequest', async (request, reply) => {
    const principal = await services.rootKeys.authenticate(bearer(request.headers.authorization));
    request.principal = principal;
    if (limit === 0) return;
    // Keyward protects itself: every root key gets `rootKeyRateLimit` calls a second, per node.
    const decision = services.apiLimiter.decide(`rk:${principal.rootKeyId}`, policy, 1);
    const result = decision.results[0];
    if (!result) return;
    const resetSeconds = Math.max(0, Math.ceil((result.resetAt - services.clock.now()) / 1000));
    // IETF draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy and RateLimit.
    reply.header('ratelimit-policy', `"root_key";q=${limit};w=1`);
    reply.header('ratelimit', `"root_key";r=${result.remaining};t=${resetSeconds}`);
    if (!decision.success) {
      reply.header('retry-after', String(Math.max(1, resetSeconds)));
      throw new KeywardError(
        'RATE_LIMITED',
        `This root key is limited to ${limit} calls a second; retry after ${Math.max(1, resetSeconds)} s`,
      );
    }
  });
}

export function callContext(request: FastifyRequest): CallContext {
  const principal = request.principal;
  if (!principal) throw new KeywardError('UNAUTHORIZED');
  return { principal, ip: request.ip };
}
