import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { ManualClock } from '../../src/core/clock/index.js';
import { MemoryStore, type Store } from '../../src/core/store/index.js';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/server/config.js';
import { buildServices, type Services } from '../../src/server/services.js';
import { serverLogger } from '../../src/server/start.js';

export interface Harness {
  app: FastifyInstance;
  services: Services;
  clock: ManualClock;
  dataDir: string;
  /** The bootstrap root key of workspace `default`, with `*`. */
  rootKey: string;
  /** Calls the API as `key` (the bootstrap root key unless given; null for no Authorization). */
  call(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    key?: string | null,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** A root key in `workspace` (created if needed) with `permissions`. */
  rootKeyWith(permissions: string[], workspace?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A Keyward app on a real engine (SQLite in a temp directory by default, or the memory store),
 * with a frozen clock, driven through `app.inject()`.
 */
export async function harness(
  opts: {
    store?: 'sqlite' | 'memory';
    now?: number;
    /** Log lines (pino JSON) are appended here, at `logLevel` (default `info`). */
    logLines?: string[];
    logLevel?: string;
    /** More of the server's environment (KEYWARD_…). */
    env?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
  const config = loadConfig(
    { data: dataDir },
    { ...opts.env, ...(opts.logLevel ? { KEYWARD_LOG_LEVEL: opts.logLevel } : {}) },
  );
  const lines = opts.logLines;
  // The server's own logger (its level, redaction and serializers), writing into `lines`.
  const logger = lines ? serverLogger(config, { write: (line: string) => void lines.push(line) }) : undefined;
  const clock = new ManualClock(opts.now ?? Date.UTC(2026, 0, 15, 12, 0, 0));
  const store: Store | undefined = opts.store === 'memory' ? new MemoryStore() : undefined;
  const services = await buildServices(config, { clock, ...(store ? { store } : {}) });
  const boot = await services.workspaces.bootstrap();
  if (!boot) throw new Error('bootstrap did not run on an empty store');
  const app = await buildApp(services, logger ? { logger } : {});
  return {
    app,
    services,
    clock,
    dataDir,
    rootKey: boot.key,
    async call(method, url, body, key) {
      const k = key === undefined ? boot.key : key;
      const res = await app.inject({
        method,
        url,
        headers: {
          ...(k !== null ? { authorization: `Bearer ${k}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = res.body;
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: res.statusCode, body: parsed, headers: res.headers };
    },
    async rootKeyWith(permissions, workspace = 'default') {
      const created = await services.workspaces.createRootKeyOffline({ workspace, name: null, permissions });
      return created.key;
    },
    async close() {
      await app.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
