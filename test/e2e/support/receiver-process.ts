import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv, ROOT, waitFor } from './processes.js';

const SCRIPT = join(ROOT, 'test', 'e2e', 'support', 'webhook-receiver.mjs');

export interface ReceivedDelivery {
  path: string;
  id: string | null;
  timestamp: string | null;
  body: string;
  /** Whether `standardwebhooks` accepted the signature. */
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

export interface ReceiverProcess {
  port: number;
  /** The URL of an endpoint path on this receiver. */
  url(path: string): string;
  /** Gives `path` its secret and makes it fail its first `failFirst` requests. */
  expect(path: string, secret: string, failFirst?: number): Promise<void>;
  received(path?: string): Promise<ReceivedDelivery[]>;
  stop(): Promise<void>;
}

/** Spawns `webhook-receiver.mjs` (a real process verifying signatures with standardwebhooks). */
export async function startReceiver(port = 0): Promise<ReceiverProcess> {
  const child: ChildProcess = spawn(process.execPath, [SCRIPT], {
    cwd: ROOT,
    env: cleanEnv({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const actual = Number(
    await waitFor('the webhook receiver', () => {
      if (exited) throw new Error(`webhook receiver exited:\n${out}`);
      return /^listening (\d+)$/m.exec(out)?.[1];
    }),
  );
  const base = `http://127.0.0.1:${actual}`;
  return {
    port: actual,
    url: (path) => `${base}${path}`,
    async expect(path, secret, failFirst = 0) {
      const res = await fetch(`${base}/control`, {
        method: 'PUT',
        body: JSON.stringify({ path, secret, failFirst }),
      });
      if (res.status !== 204) throw new Error(`receiver control answered ${res.status}`);
    },
    async received(path) {
      const all = (await (await fetch(`${base}/control`)).json()) as ReceivedDelivery[];
      return path === undefined ? all : all.filter((r) => r.path === path);
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
