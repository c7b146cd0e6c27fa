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
  scope.addHook('onRequest', async (request) => {
    request.principal = await services.rootKeys.authenticate(bearer(request.headers.authorization));
  });
}

export function callContext(request: FastifyRequest): CallContext {
  const principal = request.principal;
  if (!principal) throw new KeywardError('UNAUTHORIZED');
  return { principal, ip: request.ip };
}
