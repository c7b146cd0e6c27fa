/**
 * The CLI's HTTP client: `KEYWARD_URL` + `KEYWARD_ROOT_KEY`, like `VAULT_ADDR` + `VAULT_TOKEN`.
 * Uses the global `fetch`, so the CLI needs no HTTP dependency.
 */

export const DEFAULT_URL = 'http://127.0.0.1:7373';
const TIMEOUT_MS = 30_000;

/** An RFC 9457 problem as the server sends it (`application/problem+json`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

/** A failure the user can fix (configuration, input, connectivity): one line on stderr, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** A 4xx/5xx answer. `message` is the problem's `detail`, the line users need to see. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    fallback: string,
  ) {
    super(problem?.detail ?? fallback);
  }
}

type Query = Record<string, string | number | undefined>;

export interface ApiClient {
  readonly baseUrl: string;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  /** Resolves to null for the usual 204. */
  delete(path: string): Promise<unknown>;
}

/** `/v1/keys/{id}` with the id escaped, so an odd argument cannot reach another route. */
export function pathOf(...segments: string[]): string {
  return segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('KEYWARD_URL is not a URL (expected http://host:port)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`KEYWARD_URL must be an http:// or https:// URL, not ${url.protocol}`);
  // A password in the URL is a secret too: never echoed, and Keyward does not use one.
  if (url.username !== '' || url.password !== '')
    throw new CliError(
      'KEYWARD_URL must not carry a user name or password: Keyward authenticates with KEYWARD_ROOT_KEY',
    );
  return url;
}

/** Why fetch failed, in words: undici hides the errno in `cause`. */
function unreachable(baseUrl: string, err: unknown): CliError {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return new CliError(`the Keyward server at ${baseUrl} did not answer within ${TIMEOUT_MS / 1000}s`);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new CliError(
    `cannot reach the Keyward server at ${baseUrl} (${why}); is it running? Set KEYWARD_URL to point elsewhere`,
  );
}

export function createClient(opts: { url: string; rootKey: string }): ApiClient {
  const base = parseBaseUrl(opts.url);
  const baseUrl = base.toString().replace(/\/+$/, '');

  async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const url = new URL(`${baseUrl}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      authorization: `Bearer ${opts.rootKey}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(baseUrl, err);
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok) throw new CliError(`the server at ${baseUrl} answered ${method} ${path} with non-JSON`);
      }
    }
    if (!res.ok) {
      const problem = parsed !== null && typeof parsed === 'object' ? (parsed as Problem) : null;
      throw new ApiError(res.status, problem, `HTTP ${res.status} ${res.statusText}`.trim());
    }
    return parsed as T;
  }

  return {
    baseUrl,
    get: (path, query) => request('GET', path, undefined, query),
    // Always a JSON body: the server validates action bodies as objects.
    post: (path, body) => request('POST', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body),
    put: (path, body) => request('PUT', path, body),
    delete: (path) => request('DELETE', path),
  };
}

/** The client for `KEYWARD_URL` / `KEYWARD_ROOT_KEY`; built per command so `--help` needs neither. */
export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const rootKey = env.KEYWARD_ROOT_KEY?.trim();
  if (!rootKey)
    throw new CliError(
      'KEYWARD_ROOT_KEY is not set: export the root key the server printed at its first start ' +
        '(or make one with `keyward root-keys create --data DIR`)',
    );
  // Checked here, without echoing it: a header value fetch refuses would put the key in its error.
  if (!/^[\x21-\x7e]+$/.test(rootKey))
    throw new CliError(
      'KEYWARD_ROOT_KEY is not a root key: it holds a space, a control or a non-ASCII character (a copy-paste slip?)',
    );
  return createClient({ url: env.KEYWARD_URL?.trim() || DEFAULT_URL, rootKey });
}

/** The lines to print for a failure; never includes the root key. */
export function describeError(err: unknown): string[] {
  if (err instanceof ApiError) {
    const p = err.problem;
    const context = [p?.code, `HTTP ${err.status}`, p?.requestId ? `request ${p.requestId}` : undefined]
      .filter((s) => s !== undefined)
      .join(', ');
    const lines = [`error: ${err.message} (${context})`];
    const fieldErrors = p?.errors ?? [];
    if (fieldErrors.length > 1) for (const e of fieldErrors) lines.push(`  ${e.path} ${e.message}`);
    return lines;
  }
  return [`error: ${err instanceof Error ? err.message : String(err)}`];
}
