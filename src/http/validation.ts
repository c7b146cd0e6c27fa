import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const base: Options = {
  // Unknown fields are an error, not silently dropped (Fastify's default strips them).
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: false,
};

/**
 * RFC 3339 date-times (ajv-formats' check: a leap second `23:59:60Z` passes it) that are also
 * an instant JavaScript can hold: Date.parse refuses a leap second and years past ±275760, and
 * every route turns the text into epoch ms, so such a value must be a 400 here, not a NaN later.
 */
function withDateTimes(ajv: Ajv): Ajv {
  const rfc3339 = ajv.formats['date-time'];
  const check =
    typeof rfc3339 === 'function'
      ? rfc3339
      : typeof rfc3339 === 'object' && rfc3339 !== null && 'validate' in rfc3339
        ? rfc3339.validate
        : null;
  if (typeof check !== 'function') throw new Error('ajv-formats did not define date-time');
  return ajv.addFormat('date-time', {
    type: 'string',
    validate: (text: string) => (check as (t: string) => boolean)(text) && Number.isFinite(Date.parse(text)),
  });
}

/**
 * Whether a route's body schema lets the body be absent (`body: Type.Optional(…)`: POST
 * …/revoke, …/rotate, key create): TypeBox marks such a schema `~optional`.
 */
export function isOptionalBody(schema: unknown): boolean {
  return (schema as { '~optional'?: unknown } | undefined)?.['~optional'] === true;
}

/**
 * Bodies are validated strictly (a number where a string belongs is a 400); only the
 * querystring and path parameters, which arrive as text, are coerced to their types.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = withDateTimes(addFormats(new Ajv({ ...base, coerceTypes: false })));
  const coercing = withDateTimes(addFormats(new Ajv({ ...base, coerceTypes: 'array' })));
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    const validate = ajv.compile(schema as object);
    // An optional body may be absent; Fastify validates an absent body as `null` against the
    // object schema, which would refuse it.
    if (httpPart === 'body' && isOptionalBody(schema)) {
      // Fastify reads the failures from the function's `errors`, as Ajv leaves them.
      const optional = Object.assign(
        (data: unknown) => {
          const ok = data === undefined || data === null || validate(data);
          optional.errors = ok ? null : validate.errors;
          return ok;
        },
        { errors: null as typeof validate.errors },
      );
      return optional;
    }
    return validate;
  };
}
