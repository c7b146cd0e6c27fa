import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
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
