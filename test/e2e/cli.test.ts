import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  ensureBuilt,
  freePort,
  runCli,
  type ServerProcess,
  startServer,
} from './support/processes.js';

/**
 * The `keyward` CLI against a real server process, as a user drives it: KEYWARD_URL and
 * KEYWARD_ROOT_KEY in the environment, exit codes and stdout/stderr as the contract.
 */
describe('keyward CLI against a running server', () => {
  let dataDir: string;
  let server: ServerProcess;
  let env: Record<string, string>;
  const outputs: string[] = [];

  /** Every CLI run goes through here, so the last test can check none ever printed the root key. */
  async function cli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
    const result: CliResult = await runCli(args, opts.env ?? env, opts.input ? { input: opts.input } : {});
    outputs.push(result.stdout, result.stderr);
    return result;
  }

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

  async function createKeyspace(name: string): Promise<string> {
    const r = await cli(['keyspaces', 'create', name, '--json']);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).id;
  }

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-cli-'));
    server = await startServer(dataDir);
    env = { KEYWARD_URL: server.url, KEYWARD_ROOT_KEY: server.rootKey };
  });

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('--help works for every command group, without a root key', async () => {
    for (const group of [[], ['keyspaces'], ['keys'], ['audit'], ['root-keys'], ['keys', 'create']]) {
      const r = await cli([...group, '--help'], { env: {} });
      expect(r.code, `keyward ${group.join(' ')} --help`).toBe(0);
      expect(r.stdout).toContain(`Usage: keyward ${group.length > 0 ? `${group.join(' ')} ` : ''}`);
    }
    // A mandatory option says so in its help line; an optional one does not.
    const create = await cli(['keys', 'create', '--help'], { env: {} });
    expect(create.stdout).toMatch(/--keyspace <id> +keyspace to issue the key in \(ks_…\) \(required\)/);
    expect(create.stdout).not.toMatch(/--owner[^\n]*\(required\)/);
  });

  it('issues a key that verifies VALID over HTTP and with `keys verify`, and REVOKED after `keys revoke`', async () => {
    const keyspaceId = await createKeyspace('payments');
    expect(keyspaceId).toMatch(/^ks_/);

    const created = await cli([
      'keys',
      'create',
      '--keyspace',
      keyspaceId,
      '--name',
      'first',
      '--owner',
      'user_1',
      '--scope',
      'docs.*',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ keyspaceId, name: 'first', ownerId: 'user_1', status: 'active' });
    expect(key.key).toMatch(/^kw_[0-9A-Za-z]{38}$/);

    const overHttp = await api('POST', '/v1/keys/verify', { key: key.key });
    expect(overHttp.body).toMatchObject({ valid: true, code: 'VALID', keyId: key.id });

    const valid = await cli(['keys', 'verify', key.key, '--scopes', 'docs.read']);
    expect(valid.code).toBe(0);
    expect(valid.stdout.split('\n')[0]).toBe('VALID');

    const fromStdin = await cli(['keys', 'verify', '-'], { input: `${key.key}\n` });
    expect(fromStdin.code).toBe(0);

    const wrongScope = await cli(['keys', 'verify', key.key, '--scopes', 'admin']);
    expect(wrongScope.code).toBe(1);
    expect(wrongScope.stdout.split('\n')[0]).toBe('INSUFFICIENT_SCOPES');

    const revoked = await cli(['keys', 'revoke', key.id, '--reason', 'e2e']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^status:\s+revoked$/m);

    const after = await cli(['keys', 'verify', key.key]);
    expect(after.code).toBe(1);
    expect(after.stdout.split('\n')[0]).toBe('REVOKED');

    const afterJson = await cli(['keys', 'verify', key.key, '--json']);
    expect(afterJson.code).toBe(1);
    expect(JSON.parse(afterJson.stdout)).toMatchObject({ valid: false, code: 'REVOKED' });
  });

  it('shows the plaintext once in human output and says so', async () => {
    const keyspaceId = await createKeyspace('human');
    const r = await cli(['keys', 'create', '--keyspace', keyspaceId, '--name', 'shown-once']);
    expect(r.code).toBe(0);
    const plaintext = /^key: (\S+)$/m.exec(r.stdout)?.[1];
    expect(plaintext).toMatch(/^kw_/);
    expect(r.stdout).toMatch(/only time the key is shown/);

    const id = /^id:\s+(\S+)$/m.exec(r.stdout)?.[1];
    const shown = await cli(['keys', 'get', id ?? '']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^name:\s+shown-once$/m);
    expect(shown.stdout).not.toContain(plaintext);

    const listed = await cli(['keys', 'list', '--keyspace', keyspaceId]);
    expect(listed.code).toBe(0);
    const [header, row] = listed.stdout.split('\n');
    expect(header).toMatch(/^ID\s+START\s+NAME\s+OWNER\s+STATUS\s+EXPIRES\s+CREATED/);
    expect(row).toMatch(new RegExp(`^${id}\\s+kw_\\w{4}\\s+shown-once\\s+-\\s+active`));
  });

  it('--json prints exactly what the API answers', async () => {
    const keyspaceId = await createKeyspace('json');
    const created = JSON.parse(
      (await cli(['keys', 'create', '--keyspace', keyspaceId, '--credits', '5', '--json'])).stdout,
    );
    expect(created.credits).toEqual({ remaining: 5, refill: null });

    const viaCli = await cli(['keys', 'get', created.id, '--json']);
    expect(JSON.parse(viaCli.stdout)).toEqual((await api('GET', `/v1/keys/${created.id}`)).body);

    const list = await cli(['keys', 'list', '--keyspace', keyspaceId, '--json']);
    expect(JSON.parse(list.stdout)).toEqual((await api('GET', `/v1/keyspaces/${keyspaceId}/keys`)).body);

    const ks = await cli(['keyspaces', 'get', keyspaceId, '--json']);
    expect(JSON.parse(ks.stdout)).toEqual((await api('GET', `/v1/keyspaces/${keyspaceId}`)).body);

    const audit = await cli(['audit', 'list', '--limit', '5', '--json']);
    expect(JSON.parse(audit.stdout)).toEqual((await api('GET', '/v1/audit?limit=5')).body);
  });

  it('rotates with a grace period: old and new keys both verify until it ends', async () => {
    const keyspaceId = await createKeyspace('rotation');
    const old = JSON.parse((await cli(['keys', 'create', '--keyspace', keyspaceId, '--json'])).stdout);
    const r = await cli(['keys', 'rotate', old.id, '--grace', '3600', '--json']);
    expect(r.code).toBe(0);
    const fresh = JSON.parse(r.stdout);
    expect(fresh).toMatchObject({ replaces: old.id, keyspaceId });
    expect((await cli(['keys', 'verify', old.key])).code).toBe(0);
    expect((await cli(['keys', 'verify', fresh.key])).code).toBe(0);
  });

  it('disables and enables a key', async () => {
    const keyspaceId = await createKeyspace('toggle');
    const k = JSON.parse((await cli(['keys', 'create', '--keyspace', keyspaceId, '--json'])).stdout);
    expect((await cli(['keys', 'disable', k.id])).code).toBe(0);
    const disabled = await cli(['keys', 'verify', k.key]);
    expect([disabled.code, disabled.stdout.split('\n')[0]]).toEqual([1, 'DISABLED']);
    expect((await cli(['keys', 'enable', k.id])).code).toBe(0);
    expect((await cli(['keys', 'verify', k.key])).code).toBe(0);
  });

  it('exits non-zero with the problem detail on stderr for an unknown or malformed id', async () => {
    for (const id of ['key_doesNotExist123', 'not-an-id']) {
      const problem = (await api('GET', `/v1/keys/${id}`)).body;
      const r = await cli(['keys', 'get', id]);
      expect(r.code).not.toBe(0);
      expect(problem.detail).toBeTruthy();
      expect(r.stderr).toContain(problem.detail);
      expect(r.stdout).toBe('');
    }
  });

  it('says clearly when KEYWARD_ROOT_KEY is missing or the server is unreachable', async () => {
    const noKey = await cli(['keys', 'get', 'key_doesNotExist123'], { env: { KEYWARD_URL: server.url } });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/KEYWARD_ROOT_KEY/);

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const down = await cli(['audit', 'verify'], { env: { ...env, KEYWARD_URL: nowhere } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(nowhere);
  });

  it('refuses a malformed KEYWARD_ROOT_KEY or a KEYWARD_URL with a password without printing either', async () => {
    const malformed = `${server.rootKey}\nx`;
    const bad = await cli(['keyspaces', 'list'], { env: { ...env, KEYWARD_ROOT_KEY: malformed } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/KEYWARD_ROOT_KEY is not a root key/);
    expect(bad.stderr + bad.stdout).not.toContain(server.rootKey);
    const nonAscii = await cli(['keyspaces', 'list'], {
      env: { ...env, KEYWARD_ROOT_KEY: `${server.rootKey}€` },
    });
    expect(nonAscii.stderr).toMatch(/KEYWARD_ROOT_KEY is not a root key/);
    expect(nonAscii.stderr + nonAscii.stdout).not.toContain(server.rootKey);

    const withPassword = server.url.replace('http://', 'http://user:hunter2@');
    const url = await cli(['keyspaces', 'list'], { env: { ...env, KEYWARD_URL: withPassword } });
    expect(url.code).toBe(1);
    expect(url.stderr).toMatch(/KEYWARD_URL must not carry a user name or password/);
    expect(url.stderr).not.toContain('hunter2');
  });

  it('`audit verify` exits 0 on an intact chain', async () => {
    const r = await cli(['audit', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/intact/);
    const json = await cli(['audit', 'verify', '--json']);
    expect(JSON.parse(json.stdout)).toEqual((await api('GET', '/v1/audit/verify')).body);
  });

  it('lists root keys without showing any of them', async () => {
    const r = await cli(['root-keys', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+NAME\s+START\s+PERMISSIONS/);
    expect(r.stdout).toMatch(/bootstrap/);
  });

  it('lists keyspaces, and deletes a key so that it verifies as NOT_FOUND', async () => {
    const keyspaceId = await createKeyspace('cli-delete');
    const listed = await cli(['keyspaces', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+PREFIX/);
    expect(listed.stdout).toContain(keyspaceId);
    const created = JSON.parse((await cli(['keys', 'create', '--keyspace', keyspaceId, '--json'])).stdout);

    const deleted = await cli(['keys', 'delete', created.id]);

    expect(deleted.code).toBe(0);
    expect((await api('GET', `/v1/keys/${created.id}`)).status).toBe(404);
    expect((await api('POST', '/v1/keys/verify', { key: created.key })).body.code).toBe('NOT_FOUND');
    const again = await cli(['keys', 'delete', created.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/does not exist \(NOT_FOUND, HTTP 404/);
  });

  it('lists secrets with versions and never their values', async () => {
    const value = 'cli-listed-secret-value';
    expect((await cli(['secrets', 'put', 'cli/listed', '-'], { input: value })).code).toBe(0);
    expect((await cli(['secrets', 'put', 'cli/listed', '-'], { input: `${value}-2` })).code).toBe(0);

    const listed = await cli(['secrets', 'list', 'cli']);

    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^PATH\s+VERSION\s+LATEST/);
    expect(listed.stdout).toMatch(/cli\/listed\s+2\s+2/);
    expect(listed.stdout + listed.stderr).not.toContain(value);
  });

  it('`root-keys create --data` writes a working root key into the SQLite store of a running server', async () => {
    const made = await cli(
      [
        'root-keys',
        'create',
        '--data',
        dataDir,
        '--name',
        'offline',
        '--permission',
        'keyspaces.read',
        '--json',
      ],
      { env: {} },
    );
    expect(made.code).toBe(0);
    const { key, id } = JSON.parse(made.stdout);
    expect(id).toMatch(/^rk_/);

    const call = (path: string) =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    expect((await call('/v1/keyspaces')).status).toBe(200);
    expect((await call('/v1/audit')).status).toBe(403);
    expect(made.stderr).not.toContain(key);
  });

  it('the offline commands refuse a --data directory that holds no store, and create nothing there', async () => {
    const missing = join(dataDir, 'typo');
    for (const args of [
      ['root-keys', 'create', '--data', missing],
      ['vault', 'rotate-master-key', '--data', missing],
    ]) {
      const r = await cli(args, { env: {} });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`no Keyward store in ${missing}`);
      expect(r.stdout).toBe('');
      expect(existsSync(missing)).toBe(false);
    }
  });

  it('`audit verify` exits 1 naming the first bad entry when a row was edited in the database', async () => {
    const db = new Database(join(dataDir, 'keyward.db'));
    try {
      db.prepare('update audit_log set actor = ? where seq = 2').run('someone-else');
    } finally {
      db.close();
    }

    const r = await cli(['audit', 'verify']);

    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/BROKEN: first bad entry is seq 2/);
    const json = await cli(['audit', 'verify', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('never prints the root key', () => {
    expect(outputs.length).toBeGreaterThan(0);
    for (const text of outputs) expect(text).not.toContain(server.rootKey);
  });
});
