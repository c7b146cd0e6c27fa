import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode, type FieldError, KeywardError } from '../core/errors/index.js';
import { scrubKeyText } from '../core/keys/index.js';
import { StoreUnavailable, UniqueViolation } from '../core/store/index.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Fastify's own errors, by code, mapped onto the catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
};

/** The longest path parameter the router takes (Fastify's default); ids are far shorter. */
export const MAX_PARAM_LENGTH = 100;

/** Fastify's messages for these echo the path (a caller may have put a key in it): ours do not. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL does not decode (a bad percent-encoded sequence)',
  FST_ERR_MAX_PARAM_LENGTH: `A path segment is longer than ${MAX_PARAM_LENGTH} characters`,
};

interface ValidationIssue {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

/** The id patterns of the schemas (`^key_[0-9A-Za-z]{8,40}$`), so a bad id is named in words. */
const ID_PATTERN = /^\^([a-z]+)_\[0-9A-Za-z\]\{8,40\}\$$/;

function fieldErrors(issues: ValidationIssue[], part: string | undefined): FieldError[] {
  return issues.map((v) => {
    let path = v.instancePath || '';
    const p = v.params ?? {};
    if (typeof p.missingProperty === 'string') path += `/${p.missingProperty}`;
    if (typeof p.additionalProperty === 'string') path += `/${p.additionalProperty}`;
    const idPrefix =
      v.keyword === 'pattern' && typeof p.pattern === 'string' ? ID_PATTERN.exec(p.pattern)?.[1] : undefined;
    const message =
      v.keyword === 'additionalProperties'
        ? 'is not a known field'
        : v.keyword === 'required'
          ? 'is required'
          : idPrefix !== undefined
            ? `is not a ${idPrefix}_… id (${idPrefix}_ and 8 to 40 letters and digits)`
            : (v.message ?? 'is not valid');
    return { path: `${part === 'body' || part === undefined ? '' : `${part}:`}${path || '/'}`, message };
  });
}

/** Turns anything thrown into the catalogue's error; unknown failures become INTERNAL. */
export function toKeywardError(err: unknown): KeywardError {
  if (err instanceof KeywardError) return err;
  if (err instanceof UniqueViolation) return new KeywardError('CONFLICT', 'The resource already exists');
  if (err instanceof StoreUnavailable)
    return new KeywardError('SERVICE_UNAVAILABLE', 'The database is unreachable; retry shortly');
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const errors = fieldErrors(fe.validation, fe.validationContext);
    const first = errors[0];
    return new KeywardError(
      'VALIDATION_FAILED',
      first ? `${first.path} ${first.message}` : 'The request is not valid',
      errors,
    );
  }
  if (fe.code && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code] as ErrorCode;
    return new KeywardError(code, FASTIFY_MESSAGES[fe.code] ?? fe.message ?? ERROR_CATALOGUE[code].title);
  }
  if (err instanceof SyntaxError || (fe.statusCode === 400 && fe.name === 'SyntaxError'))
    return new KeywardError('INVALID_JSON', 'The request body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const byStatus: Record<number, ErrorCode> = {
      404: 'ROUTE_NOT_FOUND',
      405: 'METHOD_NOT_ALLOWED',
      413: 'PAYLOAD_TOO_LARGE',
      415: 'UNSUPPORTED_MEDIA_TYPE',
      429: 'RATE_LIMITED',
    };
    return new KeywardError(byStatus[fe.statusCode] ?? 'VALIDATION_FAILED', fe.message ?? 'Bad request');
  }
  return new KeywardError('INTERNAL', 'An internal error occurred; it has been logged with the request id');
}

export function problemBody(err: KeywardError, requestId: string) {
  return {
    type: `urn:keyward:error:${err.code.toLowerCase()}`,
    title: ERROR_CATALOGUE[err.code].title,
    status: err.status,
    // Messages may echo what the caller sent (a path, a value): never a key or signing secret.
    detail: scrubKeyText(err.message),
    code: err.code,
    requestId,
    ...(err.errors
      ? { errors: err.errors.map((e) => ({ path: scrubKeyText(e.path), message: scrubKeyText(e.message) })) }
      : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: KeywardError): FastifyReply {
  return reply
    .code(err.status)
    .header('x-request-id', request.id)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(err, request.id));
}
