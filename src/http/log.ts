import type { FastifyBaseLogger, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
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
  /** A reply: its status, as Fastify's own serializer gave it. */
  res(reply: { statusCode: number }) {
    return { statusCode: reply.statusCode };
  },
};

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type Line = (...args: unknown[]) => void;

const LEVEL_VALUES: Readonly<Record<string, number>> = pino.levels.values;

/**
 * A request's logger that becomes a real pino child (with the request id bound) only when a line
 * at or above its level is written. Fastify makes a child logger for every request, and a child
 * at another level than its parent's rebuilds every log method (pino's `setLevel`): for the
 * verification route at `info`, which writes no request lines (verifyLogLevel), that is work for
 * lines that are never written, on the hottest path. Lines it does write (a warning, an error)
 * go through the same child as before, with the same bindings, serializers and redaction.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
    private readonly threshold: number,
  ) {}

  get level(): string {
    return this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.child$().level = level;
  }

  private child$(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }

  private line(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    // A logger whose level was changed after creation decides for itself.
    if (this.real === null && (LEVEL_VALUES[level] ?? 0) < this.threshold) return;
    (this.child$()[level] as Line)(...args);
  }

  fatal(...args: unknown[]): void {
    this.line('fatal', args);
  }
  error(...args: unknown[]): void {
    this.line('error', args);
  }
  warn(...args: unknown[]): void {
    this.line('warn', args);
  }
  info(...args: unknown[]): void {
    this.line('info', args);
  }
  debug(...args: unknown[]): void {
    this.line('debug', args);
  }
  trace(...args: unknown[]): void {
    this.line('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.child$().child(bindings, options);
  }
}

/**
 * A route's `childLoggerFactory` for routes whose log level (`logLevel`) is above the server's:
 * each request gets a LazyRequestLogger instead of a pino child built up front. For other
 * routes it makes the usual child.
 */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  const level = options.level;
  const threshold = level === undefined ? undefined : LEVEL_VALUES[level];
  const parentThreshold = LEVEL_VALUES[logger.level];
  if (threshold === undefined || parentThreshold === undefined || threshold <= parentThreshold)
    return logger.child(bindings, options);
  return new LazyRequestLogger(logger, bindings, options, threshold);
}

/**
 * The app's `childLoggerFactory`: each request's logger is a child of the server's pino logger
 * (`lazyChildLoggerFactory`), not of Fastify's. Fastify itself runs without a logger (`logger:
 * false`): with one, it puts a `finish` and an `error` listener on every response to log its
 * completion, also on routes that log nothing (the verification route at `info`) — 0.7 µs of
 * main-thread CPU a verification, 4 % of the HTTP throughput (docs/benchmarks.md, "Ninth
 * session"). Without one it still logs `incoming request` through the request's logger, and
 * `request completed` for a route with an `onResponse` hook: `completionLogging` is that hook,
 * given to the routes that write `info` lines. A route without it (the verification route at
 * `info`) has no `request errored` line either when its answer cannot be sent (the client went
 * away mid-answer); the verification's usage event is recorded all the same.
 */
export function requestLoggerFactory(logger: FastifyBaseLogger) {
  return (_framework: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger =>
    lazyChildLoggerFactory(logger, bindings, options);
}

/**
 * An `onResponse` hook that does nothing itself: a route with one gets Fastify's completion
 * listeners, and Fastify then writes its `request completed` (or `request errored`) line through
 * the request's logger.
 */
export const completionLogging: onResponseHookHandler = (_request, _reply, done) => done();

/** Whether a route at `routeLevel` (its `logLevel`; the server's when unset) writes `info` lines. */
export function logsInfo(routeLevel: string | undefined, serverLevel: string): boolean {
  const level = LEVEL_VALUES[routeLevel || serverLevel];
  return level !== undefined && level <= (LEVEL_VALUES.info as number);
}

/**
 * Fastify's `request completed` line for an answer given outside any route (no route matched,
 * the router refused the URL), once it is sent, timed from now.
 */
export function logCompletionOnFinish(reply: FastifyReply): void {
  const started = performance.now();
  reply.raw.once('finish', () =>
    reply.log.info({ res: reply, responseTime: performance.now() - started }, 'request completed'),
  );
}
