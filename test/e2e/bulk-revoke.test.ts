import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN_PATH, ensureBuilt, ROOT, runCli, type ServerProcess, startServer } from './support/processes.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/** `keyward keys revoke --owner …`: emergency revocation from the CLI, against a real server. */
describe('keyward keys revoke --owner (bulk)', () => {
  let dataDir: string;
  let server: ServerProcess;
  let env: Record<string, string>;

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.rootKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function issue(owner: string, n: number): Promise<string[]> {
    const ks = await api('POST', '/v1/keyspaces', { name: `bulk-${owner}-${Date.now()}` });
    const keys: string[] = [];
    for (let i = 0; i < n; i++)
      keys.push((await api('POST', `/v1/keyspaces/${ks.body.id}/keys`, { ownerId: owner })).body.key);
    return keys;
  }

  /** `keys revoke --owner OWNER` in a real terminal (`script`), as a person at a shell runs it. */
  function revokeInTerminal(owner: string, input: string) {
    const command = [process.execPath, BIN_PATH, 'keys', 'revoke', '--owner', owner, '--reason', 'leak']
      .map((a) => `'${a}'`)
      .join(' ');
    return spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      input,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  const codes = async (keys: string[]) =>
    new Set(
      await Promise.all(keys.map(async (key) => (await api('POST', '/v1/keys/verify', { key })).body.code)),
    );

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-bulk-'));
    server = await startServer(dataDir);
    env = { KEYWARD_URL: server.url, KEYWARD_ROOT_KEY: server.rootKey };
  });

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to revoke in bulk unattended without --yes, and revokes nothing', async () => {
    const keys = await issue('acme', 3);
    const r = await runCli(['keys', 'revoke', '--owner', 'acme', '--reason', 'leak'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--yes/);
    expect(await codes(keys)).toEqual(new Set(['VALID']));
  });

  it('needs a reason', async () => {
    const r = await runCli(['keys', 'revoke', '--owner', 'acme', '--yes'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--reason/);
  });

  it('revokes every key of the owner with --yes and names the incident', async () => {
    const keys = await issue('globex', 25);
    const bystanders = await issue('initech', 2);
    const r = await runCli(
      ['keys', 'revoke', '--owner', 'globex', '--reason', 'pasted in a gist', '--yes'],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/revoked 25 key\(s\) of owner globex/);
    const incidentId = /incident: (inc_\S+)/.exec(r.stdout)?.[1];
    expect(incidentId).toBeDefined();
    expect(await codes(keys)).toEqual(new Set(['REVOKED']));
    expect(await codes(bystanders)).toEqual(new Set(['VALID']));
    const shown = await runCli(['incidents', 'get', String(incidentId)], env);
    expect(shown.stdout).toMatch(/keys revoked:?\s+25/);
  });

  it.skipIf(!hasScript)('in a terminal, counts with a progress bar and asks before revoking', async () => {
    const keys = await issue('umbrella', 4);
    const run = revokeInTerminal('umbrella', 'y\n');
    expect(run.stdout).toMatch(/counting matching keys/);
    expect(run.stdout).toMatch(/Revoke 4 key\(s\) of owner umbrella for good\? \[y\/N\]/);
    expect(run.stdout).toMatch(/revoked 4 key\(s\)/);
    expect(await codes(keys)).toEqual(new Set(['REVOKED']));
  });

  it.skipIf(!hasScript)('in a terminal, answering no revokes nothing and exits non-zero', async () => {
    const keys = await issue('cyberdyne', 2);
    const run = revokeInTerminal('cyberdyne', 'n\n');
    expect(run.stdout).toMatch(/Revoke 2 key\(s\) of owner cyberdyne for good\? \[y\/N\]/);
    expect(run.stdout).toMatch(/cancelled; nothing was revoked/);
    expect(run.status).toBe(1);
    expect(await codes(keys)).toEqual(new Set(['VALID']));
  });
});
