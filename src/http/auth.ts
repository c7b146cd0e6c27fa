import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  const throttle = (principal: Principal, reply: FastifyReply): KeywardError | undefined => {
    if (limit === 0) return undefined;
    // Keyward protects itself: every root key gets `rootKeyRateLimit` calls a second, per node.
    const decision = services.apiLimiter.decide(`rk:${principal.rootKeyId}`, policy, 1);
    const result = decision.results[0];
    if (!result) return undefined;
    const resetSeconds = Math.max(0, Math.ceil((result.resetAt - services.clock.now()) / 1000));
    // IETF draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy and RateLimit.
    reply.header('ratelimit-policy', `"root_key";q=${limit};w=1`);
    reply.header('ratelimit', `"root_key";r=${result.remaining};t=${resetSeconds}`);
    if (decision.success) return undefined;
    const retry = Math.max(1, resetSeconds);
    reply.header('retry-after', String(retry));
    return new KeywardError(
      'RATE_LIMITED',
      `This root key is limited to ${limit} calls a second; retry after ${retry} s`,
    );
  };
  // Callback style with a synchronous path for cached root keys: no promise on the hot path.
  scope.addHook('onRequest', (request, reply, done) => {
    const token = bearer(request.headers.authorization);
    const cached = services.rootKeys.authenticateCached(token);
    if (cached) {
      request.principal = cached;
      done(throttle(cached, reply));
      return;
    }
    services.rootKeys.authenticate(token).then(
      (principal) => {
        request.principal = principal;
        done(throttle(principal, reply));
      },
      (err: Error) => done(err),
    );
  });
}

export function callContext(request: FastifyRequest): CallContext {
  const principal = request.principal;
  if (!principal) throw new KeywardError('UNAUTHORIZED');
  return { principal, ip: request.ip };
}
