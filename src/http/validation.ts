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
 * Bodies are validated strictly (a number where a string belongs is a 400); only the
 * querystring and path parameters, which arrive as text, are coerced to their types.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = addFormats(new Ajv({ ...base, coerceTypes: false }));
  const coercing = addFormats(new Ajv({ ...base, coerceTypes: 'array' }));
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    const validate = ajv.compile(schema as object);
    // `body: Type.Optional(…)` (POST …/revoke, …/rotate) means the body may be absent; Fastify
    // validates an absent body as `null` against the object schema, which would refuse it.
    if (httpPart === 'body' && (schema as { '~optional'?: unknown })['~optional'] === true) {
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
