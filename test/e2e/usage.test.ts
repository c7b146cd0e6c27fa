import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, type ServerProcess, startServer } from './support/processes.js';

function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path)];
  });
}

/**
 * Usage recording on a real server process: thousands of concurrent verifications, then a
 * SIGTERM. The flush timer is set to a minute, so only full batches are written while the
 * server runs; the rest must be written by the graceful shutdown, and a restarted server
 * must count every verification exactly once.
 */
describe('usage events survive a graceful shutdown', () => {
  const N = 2_345;
  let dataDir: string;
  let first: ServerProcess;
  let second: ServerProcess;
  let rootKey: string;
  let key: { id: string; key: string };
  let metricsBeforeStop = '';
  let exitCode: number | null;

  async function api(server: ServerProcess, method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${rootKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-usage-'));
    const env = { KEYWARD_USAGE_FLUSH_MS: '60000' };
    first = await startServer(dataDir, { env });
    rootKey = first.rootKey;
    const ks = await api(first, 'POST', '/v1/keyspaces', { name: 'usage' });
    key = await api(first, 'POST', `/v1/keyspaces/${ks.id}/keys`, { scopes: ['read'] });

    // 32 clients at once, N verifications in all; one in ten asks for a scope the key lacks.
    let next = 0;
    const client = async () => {
      while (next < N) {
        const i = next++;
        const v = await api(first, 'POST', '/v1/keys/verify', {
          key: key.key,
          ip: '198.51.100.23',
          resource: `/items/${i}`,
          ...(i % 10 === 0 ? { scopes: 'write' } : {}),
        });
        expect(v.code).toBe(i % 10 === 0 ? 'INSUFFICIENT_SCOPES' : 'VALID');
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    metricsBeforeStop = await (await fetch(`${first.url}/metrics`)).text();

    exitCode = await first.stop();
    second = await startServer(dataDir, { env, expectRootKey: false });
  }, 120_000);

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 on SIGTERM', () => {
    expect(exitCode).toBe(0);
  });

  it('counted every verification in the metrics, dropping none', () => {
    const denied = Math.ceil(N / 10);
    expect(metricsBeforeStop).toMatch(
      new RegExp(`^keyward_verifications_total\\{code="VALID"\\} ${N - denied}$`, 'm'),
    );
    expect(metricsBeforeStop).toMatch(
      new RegExp(`^keyward_verifications_total\\{code="INSUFFICIENT_SCOPES"\\} ${denied}$`, 'm'),
    );
    expect(metricsBeforeStop).toMatch(/^keyward_usage_events_dropped_total 0$/m);
  });

  it('shows exactly N verifications in /usage after the restart', async () => {
    const usage = await api(second, 'GET', `/v1/keys/${key.id}/usage?granularity=day`);
    const total = usage.series.reduce((n: number, p: { total: number }) => n + p.total, 0);
    const denied = Math.ceil(N / 10);

    expect(total).toBe(N);
    expect(usage.series.at(-1).byCode).toEqual({ VALID: N - denied, INSUFFICIENT_SCOPES: denied });
  });

  it('lists the raw events after the restart, each one once', async () => {
    const resources = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: any = await api(
        second,
        'GET',
        `/v1/keys/${key.id}/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      for (const e of page.items) resources.add(e.resource);
      cursor = page.nextCursor;
    } while (cursor);

    expect(resources.size).toBe(N);
  });

  it('set lastUsedAt', async () => {
    const got = await api(second, 'GET', `/v1/keys/${key.id}`);

    expect(Date.parse(got.lastUsedAt)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('keeps the plaintext key out of the database, the logs and the metrics', () => {
    const secret = Buffer.from(key.key);
    const bootstrapLine = `root key: ${rootKey}\n`;
    const places = [
      ...filesUnder(dataDir),
      Buffer.from(first.stdout().replace(bootstrapLine, '')),
      Buffer.from(first.stderr()),
      Buffer.from(second.stdout()),
      Buffer.from(second.stderr()),
      Buffer.from(metricsBeforeStop),
    ];

    expect(places.filter((bytes) => bytes.includes(secret))).toHaveLength(0);
    expect(metricsBeforeStop).not.toContain(key.id);
  });
});
