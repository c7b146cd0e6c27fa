import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, type ServerProcess, startServer } from './support/processes.js';

/** Every file under `dir`, read as bytes (the SQLite db and its -wal / -shm included). */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, bytes: readFileSync(path) }];
  });
}

function findings(
  secrets: string[],
  places: { path: string; bytes: Buffer }[],
): { secret: string; where: string }[] {
  return secrets.flatMap((secret) =>
    places
      .filter((p) => p.bytes.includes(Buffer.from(secret, 'utf8')))
      .map((p) => ({ secret: `${secret.slice(0, 8)}…`, where: p.path })),
  );
}

/**
 * Keyward stores only hashes: after issuing, rotating and verifying keys on a real server, no
 * plaintext key may be found in any byte it wrote (database, WAL, logs).
 */
describe('no plaintext key at rest or in logs', () => {
  let dataDir: string;
  let server: ServerProcess;
  const plaintexts: string[] = [];
  let whileRunning: { path: string; bytes: Buffer }[] = [];
  let exitCode: number | null;
  /** Answers to requests that carried a key where it does not belong (a URL). */
  const misplaced: { path: string; bytes: Buffer }[] = [];

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.rootKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-plaintext-'));
    server = await startServer(dataDir);

    const ks = await api('POST', '/v1/keyspaces', { name: 'secrets', prefix: 'sk_live' });
    const bodies = [
      {},
      { name: 'named', ownerId: 'user_42', meta: { plan: 'pro' } },
      { scopes: ['docs.read', 'billing.*'], credits: { remaining: 10 } },
      { restrictions: { ips: ['10.0.0.0/8'], origins: ['https://app.example.com'] } },
      { expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    ];
    const keys = [];
    for (const body of bodies) keys.push(await api('POST', `/v1/keyspaces/${ks.id}/keys`, body));
    plaintexts.push(...keys.map((k) => k.key as string));

    const rotated = await api('POST', `/v1/keys/${keys[1].id}/rotate`, { gracePeriodSeconds: 60 });
    plaintexts.push(rotated.key);

    const rootKey = await api('POST', '/v1/root-keys', { name: 'ci', permissions: ['keys.verify'] });
    plaintexts.push(rootKey.key);

    // Verifications carry the plaintext in the request body: it must not reach the logs either.
    for (const key of plaintexts.slice(0, 6)) {
      const v = await api('POST', '/v1/keys/verify', {
        key,
        ip: '10.1.2.3',
        origin: 'https://app.example.com',
      });
      expect(v.code).toMatch(/^[A-Z_]+$/);
    }
    expect(new Set(plaintexts).size).toBe(7);

    // A key pasted into a URL — a query string, a path segment — is answered with an error that
    // does not echo it, and logged (Fastify logs every URL) with the key redacted.
    const key = plaintexts[0] ?? '';
    for (const [method, path] of [
      ['GET', `/v1/keys/verify?key=${key}`],
      ['POST', `/v1/keys/${key}/verify`],
      ['GET', `/v1/keys/${key}`],
      ['GET', `/v1/nowhere/${key}`],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.rootKey}` },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      misplaced.push({
        path: `answer to ${method} ${path.replace(key, '<key>')}`,
        bytes: Buffer.from(await res.text()),
      });
    }

    whileRunning = filesUnder(dataDir).map((f) => ({ ...f, path: `${f.path} (while running)` }));
    exitCode = await server.stop();
  });

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 on SIGTERM', () => {
    expect(exitCode).toBe(0);
  });

  it('wrote a database to search', () => {
    expect(whileRunning.some((f) => f.path.includes('keyward.db'))).toBe(true);
  });

  it('keeps no plaintext key in any file of the data directory', () => {
    const places = [...whileRunning, ...filesUnder(dataDir)];
    expect(findings([...plaintexts, server.rootKey], places)).toEqual([]);
  });

  it('prints no plaintext key on stdout or stderr (beyond the bootstrap line)', () => {
    const stdout = server.stdout();
    const bootstrapLine = `root key: ${server.rootKey}\n`;
    expect(stdout).toContain(bootstrapLine);
    const logs = [
      { path: 'stdout', bytes: Buffer.from(stdout.replace(bootstrapLine, '')) },
      { path: 'stderr', bytes: Buffer.from(server.stderr()) },
    ];
    expect(findings([...plaintexts, server.rootKey], logs)).toEqual([]);
    // The misplaced keys' requests were logged — without the key.
    expect(stdout).toContain('/v1/keys/verify?key=[redacted]');
    expect(stdout).toContain('/v1/keys/[redacted]/verify');
  });

  it('echoes no key in an error answer, whatever the caller put in the URL', () => {
    expect(misplaced).toHaveLength(4);
    expect(findings(plaintexts, misplaced)).toEqual([]);
    expect(misplaced.map((m) => m.bytes.toString())).toContainEqual(expect.stringContaining('[redacted]'));
  });
});
