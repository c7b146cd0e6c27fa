import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BIN_PATH, cleanEnv, ensureBuilt, freePort, ROOT, waitFor } from '../../e2e/support/processes.js';

/**
 * Real processes for the multi-node suites: Keyward nodes (`node bin/keyward.js serve`), a private
 * redis-server, and a TCP proxy that can cut a node off from PostgreSQL. Adapted from
 * test/e2e/support/processes.ts. Nothing here sleeps blindly: every wait polls with a deadline.
 */

const BIN = BIN_PATH;

export { cleanEnv, ensureBuilt, freePort, ROOT, waitFor };

/**
 * One vault master key for every node and CLI run of a test file: nodes sharing a database must
 * share it (PostgreSQL requires it to be given).
 */
export const MASTER_KEY = randomBytes(32).toString('base64');

export function tempDir(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `keyward-multinode-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A child process whose output is collected and whose exit can be awaited. */
export interface Proc {
  readonly pid: number | undefined;
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  exitCode(): number | null;
  /** Resolves with the exit code (null when a signal ended it). */
  waitExit(): Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and waits for the exit, SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

function track(child: ChildProcess): Proc {
  let out = '';
  let err = '';
  let all = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
    all += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8');
    all += b.toString('utf8');
  });
  let done = false;
  let code: number | null = null;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (c) => {
      done = true;
      code = c;
      resolve(c);
    }),
  );
  return {
    pid: child.pid,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    exited: () => done,
    exitCode: () => code,
    waitExit: () => exit,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000) {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface NodeOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** A data directory (only used by SQLite; a temporary one is made when absent). */
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
}

export interface KeywardNode extends Proc {
  readonly url: string;
  readonly port: number;
  /** The bootstrap root key when this node printed one. */
  rootKey(): string | undefined;
}

/** Spawns `keyward serve` without waiting for anything (see `waitHealthy`). */
export async function spawnNode(opts: NodeOptions): Promise<KeywardNode> {
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = {
    KEYWARD_LOG_LEVEL: 'info',
    KEYWARD_MASTER_KEY: MASTER_KEY,
    ...(opts.env ?? {}),
  };
  if (opts.databaseUrl) env.KEYWARD_DATABASE_URL = opts.databaseUrl;
  if (opts.redisUrl) env.KEYWARD_REDIS_URL = opts.redisUrl;
  const args = [BIN, 'serve', '--port', String(port)];
  if (opts.dataDir) args.push('--data', opts.dataDir);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child);
  return {
    ...proc,
    url: `http://127.0.0.1:${port}`,
    port,
    rootKey: () => /^root key: (\S+)$/m.exec(proc.stdout())?.[1],
  };
}

/** Waits until GET /healthz answers 200; fails at once (with the output) if the node exits. */
export async function waitHealthy(node: KeywardNode, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `GET ${node.url}/healthz`,
    async () => {
      if (node.exited())
        throw new Error(`node ${node.url} exited early (${node.exitCode()}):\n${node.output()}`);
      try {
        const res = await fetch(`${node.url}/healthz`);
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** Spawns a node and waits until it is healthy. */
export async function startNode(opts: NodeOptions): Promise<KeywardNode> {
  const node = await spawnNode(opts);
  try {
    await waitHealthy(node);
  } catch (e) {
    await node.stop('SIGKILL');
    throw e;
  }
  return node;
}

export async function readyz(node: { url: string }): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.json() };
}

/** Waits until /readyz answers `status`. */
export async function waitReady(node: KeywardNode, status: 200 | 503, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  await waitFor(
    `${node.url}/readyz to answer ${status}`,
    async () => {
      if (node.exited()) throw new Error(`node ${node.url} exited (${node.exitCode()}):\n${node.output()}`);
      try {
        return (await readyz(node)).status === status ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
  return Date.now() - start;
}

export async function metricsText(node: { url: string }): Promise<string> {
  const res = await fetch(`${node.url}/metrics`);
  return res.text();
}

/** The value of one Prometheus sample (`name{labels}`), or undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const found: Record<string, string> = {};
    for (const pair of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g))
      found[pair[1] as string] = pair[2] as string;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[2]);
  }
  return undefined;
}

export interface ApiResponse {
  status: number;
  body: any;
  contentType: string;
}

/** A JSON call with a root key (`rootKey` undefined sends no Authorization header). */
export async function api(
  node: { url: string },
  rootKey: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  const res = await fetch(`${node.url}${path}`, {
    // A call that hangs fails the test clearly instead of running into the test's timeout.
    signal: AbortSignal.timeout(20_000),
    method,
    headers: {
      ...(rootKey ? { authorization: `Bearer ${rootKey}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, contentType: res.headers.get('content-type') ?? '' };
}

/** The verification code; throws (with the answer) when the call does not answer 200. */
export async function verifyCode(
  node: { url: string },
  rootKey: string,
  key: string,
  extra: { scopes?: string } = {},
): Promise<string> {
  const r = await api(node, rootKey, 'POST', '/v1/keys/verify', { key, ...extra });
  if (r.status !== 200)
    throw new Error(`verify on ${node.url} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.code as string;
}

export async function createKeyspace(node: { url: string }, rootKey: string, name: string): Promise<string> {
  const r = await api(node, rootKey, 'POST', '/v1/keyspaces', { name });
  if (r.status !== 201) throw new Error(`create keyspace answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export async function createKey(
  node: { url: string },
  rootKey: string,
  keyspaceId: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const r = await api(node, rootKey, 'POST', `/v1/keyspaces/${keyspaceId}/keys`, body);
  if (r.status !== 201) throw new Error(`create key answered ${r.status}: ${JSON.stringify(r.body)}`);
  return { id: r.body.id as string, key: r.body.key as string };
}

/** Runs `items` through `fn` with at most `concurrency` in flight. */
export async function mapLimit<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keyward ARGS…` to completion (bounded), with `env` on top of a clean environment. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: cleanEnv({ KEYWARD_MASTER_KEY: MASTER_KEY, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyward ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A private redis-server (no persistence) on `port`, so the shared Redis is never disturbed. */
export async function startRedis(port: number): Promise<Proc> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const proc = track(child);
  await waitFor(
    `redis-server on port ${port}`,
    async () => {
      if (proc.exited()) throw new Error(`redis-server exited (${proc.exitCode()}):\n${proc.output()}`);
      return (await canConnect(port)) ? true : undefined;
    },
    10_000,
  );
  return proc;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A TCP proxy on a fixed port in front of a target. `cut()` destroys every connection and stops
 * accepting (new connections are refused); `freeze()` turns it into a black hole (connections
 * stay open, nothing goes through, as in a network partition); `restore()` listens again on the
 * same port (dropping what a freeze left open).
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  /** Open client connections. */
  get connections(): number {
    return [...this.sockets].filter((s) => s.remotePort !== this.target.port).length;
  }

  private async listen(onConnection: (client: Socket) => void): Promise<void> {
    const server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops accepting; the listening socket is released at once (open connections are not waited for). */
  private stopListening(): void {
    this.server?.close();
    this.server = null;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
  }

  async restore(): Promise<void> {
    this.stopListening();
    this.destroyAll();
    await this.listen((client) => {
      const upstream = tcpConnect(this.target);
      this.track(client);
      this.track(upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async cut(): Promise<void> {
    this.stopListening();
    this.destroyAll();
  }

  async freeze(): Promise<void> {
    this.stopListening();
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
    await this.listen((client) => {
      this.track(client);
      client.pause();
    });
  }

  private destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
