import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import type { KeyRecord } from '../../core/store/index.js';
import type { VerifyResult } from '../../core/verification/index.js';
import type { Config } from '../../server/config.js';
import type { Services } from '../../server/services.js';
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
  const answers = new SerializedAnswers();
  return async (app) => {
    app.post(
      '/v1/keys/verify',
      {
        // No pino child per verification unless it writes a line (see lazyChildLoggerFactory), and
        // no completion hook at `info` (see logsInfo).
        logLevel: verifyLogLevel(services.config.logLevel),
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
      (req, reply) => {
        const principal = req.principal;
        // requireRootKey ran in onRequest, so a principal is always there.
        if (!principal) throw new Error('unauthenticated request reached the verify handler');
        const result = services.verifier.verify(principal, req.body);
        if (result instanceof Promise) return result.then(verifyView);
        const answer = answers.of(result, reply);
        if (answer === undefined) return verifyView(result);
        // Sent as text: the typed reply takes only the answer object the schema describes.
        (reply as FastifyReply).header('content-type', JSON_UTF8).send(answer);
      },
    );
  };
}

/** The content type Fastify gives a serialized JSON answer. */
const JSON_UTF8 = 'application/json; charset=utf-8';

type Codes = Partial<Record<VerifyResult['code'], string>>;

/**
 * The verification answers that depend on nothing but the key record and the outcome (no rate
 * limits, no credits: those change with every call), serialized once per record and outcome by
 * the route's own response serializer and then sent as they are. A key's answer is otherwise the
 * same JSON rebuilt and re-serialized on every verification of it. Held by record object: the
 * verifier's cache makes a new record whenever the key changes (or its entry is refreshed), so an
 * answer never outlives what it was made from, and an unused record takes its answers with it.
 */
class SerializedAnswers {
  private readonly byRecord = new WeakMap<KeyRecord, Codes>();
  private notFound: string | undefined;

  of(result: VerifyResult, reply: FastifyReply): string | undefined {
    if (!('key' in result)) {
      this.notFound ??= this.serialize(result, reply);
      return this.notFound;
    }
    if (result.ratelimits !== undefined || result.credits !== undefined) return undefined;
    let codes = this.byRecord.get(result.key);
    if (codes === undefined) {
      codes = {};
      this.byRecord.set(result.key, codes);
    }
    let answer = codes[result.code];
    if (answer === undefined) {
      answer = this.serialize(result, reply);
      codes[result.code] = answer;
    }
    return answer;
  }

  private serialize(result: VerifyResult, reply: FastifyReply): string {
    const serializer = reply.getSerializationFunction('200');
    if (!serializer) throw new Error('the verify route has no response serializer for 200');
    return serializer(verifyView(result));
  }
}
