import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real processes for the end-to-end suites: `node bin/keyward.js serve` and CLI invocations,
 * exactly as a user runs them. Nothing here sleeps blindly: every wait polls with a deadline.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN_PATH = join(ROOT, 'bin', 'keyward.js');

const BIN = BIN_PATH;

/** `dist/` is the build's job; build only when it is missing (a fresh checkout without prepare). */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(entry)) return;
  spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(entry)) throw new Error('npm run build did not produce dist/cli/main.js');
}

/**
 * The lowest port the kernel hands out for outgoing connections (and for listening on port 0):
 * a port below it is never taken by a connection to PostgreSQL or Redis between our check and
 * the server's bind, which on a busy test machine a port the OS picked can be.
 */
function ephemeralFloor(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 21_000) return low;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152.
  }
  return 32_768;
}

function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const address = srv.address();
      const got = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(got > 0 ? got : null));
    });
  });
}

/**
 * A port nobody listens on right now, for a server process to bind next: drawn at random from
 * 20000 up to the ephemeral range (see ephemeralFloor) and checked by binding it; the OS picks
 * one if 50 draws are all taken.
 */
export async function freePort(): Promise<number> {
  const floor = ephemeralFloor();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(20_000 + Math.floor(Math.random() * (floor - 20_000)));
    if (port !== null) return port;
  }
  const port = await listenOnce(0);
  if (port === null) throw new Error('no free port');
  return port;
}

/** The environment without any KEYWARD_* the developer may have set, so suites are hermetic. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYWARD_')) env[k] = v;
  return { ...env, ...extra };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ServerProcess {
  url: string;
  /** The bootstrap root key, read from the `root key: ` line. */
  rootKey: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then wait for the exit; resolves to the exit code (null if killed by a signal). */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** More environment on top of the clean one (KEYWARD_MASTER_KEY, say). */
  env?: Record<string, string>;
  /**
   * Whether to wait for the bootstrap `root key: ` line (default true). A restart on a store
   * that is not empty prints none; `rootKey` is then ''.
   */
  expectRootKey?: boolean;
}

export async function startServer(dataDir: string, opts: StartOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--data', dataDir, '--port', String(port)],
    {
      cwd: ROOT,
      env: cleanEnv({ KEYWARD_LOG_LEVEL: 'info', ...opts.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const stop = async (): Promise<number | null> => {
    if (!done) child.kill('SIGTERM');
    const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timeout);
    }
  };

  try {
    const rootKey =
      opts.expectRootKey === false
        ? ''
        : await waitFor('the root key line', () => {
            if (done) throw new Error(`server exited early:\n${out}\n${err}`);
            return /^root key: (\S+)$/m.exec(out)?.[1];
          });
    await waitFor('GET /healthz', async () => {
      if (done) throw new Error(`server exited early:\n${out}\n${err}`);
      try {
        const res = await fetch(`${url}/healthz`);
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    });
    return { url, rootKey, stdout: () => out, stderr: () => err, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keyward ARGS…` to completion (bounded), with `env` on top of a clean environment. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: cleanEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
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
      reject(new Error(`keyward ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 20_000} ms`));
    }, opts.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
