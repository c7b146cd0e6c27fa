import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { scrubKeys, scrubKeyText } from '../core/keys/index.js';

/**
 * The log serializers of the server's pino logger. Fastify logs every request's URL, and a
 * caller may put a key in it (`GET /v1/keys/verify?key=…`, a key pasted where an id goes), so
 * URLs and error messages are scrubbed of keys and webhook signing secrets before they are
 * written (core/keys/scrub.ts). The Authorization header is never logged at all.
 */
export const logSerializers = {
  req(req: FastifyRequest) {
    return {
      method: req.method,
      url: scrubKeyText(req.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket ? req.socket.remotePort : undefined,
    };
  },
  err(err: Error) {
    return scrubKeys(pino.stdSerializers.err(err));
  },
};
