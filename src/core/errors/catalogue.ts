/**
 * The one catalogue of error codes. Every 4xx/5xx answer carries one of these codes;
 * `docs/errors.md` documents each of them and a test fails when the two disagree.
 * HTTP status lives here too, so exactly one place maps a code to a status.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  INVALID_SCOPE_EXPRESSION: { status: 400, title: 'The scope expression is not valid' },
  INVALID_RESTRICTION: { status: 400, title: 'An IP or origin restriction is not valid' },
  INVALID_CURSOR: { status: 400, title: 'The pagination cursor is not valid' },
  WEBHOOK_URL_NOT_ALLOWED: { status: 400, title: 'The webhook URL is not allowed on this server' },
  UNAUTHORIZED: { status: 401, title: 'A valid root key is required' },
  PERMISSION_DENIED: { status: 403, title: 'The root key lacks a permission' },
  NOT_FOUND: { status: 404, title: 'The resource does not exist' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  KEYSPACE_NAME_TAKEN: { status: 409, title: 'A keyspace with that name exists' },
  KEYSPACE_NOT_EMPTY: { status: 409, title: 'The keyspace still has keys' },
  KEY_NOT_ROTATABLE: { status: 409, title: 'The key cannot be rotated' },
  KEY_REVOKED: { status: 409, title: 'The key is revoked' },
  KEY_ALREADY_REPLACED: { status: 409, title: 'A replacement was already issued for this key' },
  SECRET_VERSION_MISMATCH: { status: 409, title: 'The secret is not at the expected version' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  SECRET_TOO_LARGE: { status: 413, title: 'The secret value is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The content type is not supported' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  INTERNAL: { status: 500, title: 'Internal error' },
  SECRET_DECRYPTION_FAILED: { status: 500, title: 'A stored secret failed authentication' },
  MASTER_KEY_MISMATCH: { status: 500, title: 'The master key does not open the vault' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldError {
  path: string;
  message: string;
}

/**
 * The base class of every error Keyward raises on purpose. `detail` is shown to the caller,
 * so it must never contain key material or secret values.
 */
export class KeywardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, detail?: string, errors?: FieldError[]) {
    super(detail ?? ERROR_CATALOGUE[code].title);
    this.name = 'KeywardError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.errors = errors;
  }
}

export function notFound(what: string, id: string): KeywardError {
  return new KeywardError('NOT_FOUND', `${what} ${id} does not exist`);
}

export function invalid(path: string, message: string): KeywardError {
  return new KeywardError('VALIDATION_FAILED', `${path} ${message}`, [{ path, message }]);
}
