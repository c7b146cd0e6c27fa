import { type Static, type TSchema, Type } from 'typebox';
import { type IdType, idPattern } from '../../core/ids/index.js';

/** `T | null` as `type: [T, "null"]`, the OpenAPI 3.1 spelling (and fast for the serializer). */
export function Nullable<T extends TSchema>(schema: T) {
  const s = schema as unknown as { type?: string };
  if (typeof s.type === 'string') return Type.Unsafe<Static<T> | null>({ ...schema, type: [s.type, 'null'] });
  return Type.Union([schema, Type.Null()]);
}

export const Id = (type: IdType, description?: string) =>
  Type.String({ pattern: idPattern(type), maxLength: 64, ...(description ? { description } : {}) });

export const IsoTime = (description?: string) =>
  Type.String({ format: 'date-time', maxLength: 40, ...(description ? { description } : {}) });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable error code; see docs/errors.md' }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

// Errors are sent as application/problem+json, so the document says that media type (Fastify
// also picks the serializer by it).
const ProblemResponse = Type.Unsafe({
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

/** The error answers every route can give, for the OpenAPI document. */
export function errors(...statuses: number[]) {
  const out: Record<number, typeof ProblemResponse> = {};
  for (const s of [400, 401, 403, 404, 413, 429, 500, 503, ...statuses]) out[s] = ProblemResponse;
  return out;
}

export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page (1–100)' }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'The `nextCursor` of the previous page' }),
  ),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(Type.String({ description: 'Cursor of the next page; null on the last page' })),
  });
}

export const Metadata = Type.Record(Type.String({ maxLength: 256 }), Type.Unknown(), {
  description: 'Free-form JSON object (at most 16 KiB serialised)',
});

export const ShortText = (max: number, description?: string) =>
  Type.String({ minLength: 1, maxLength: max, ...(description ? { description } : {}) });
