import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  ensureBuilt,
  freePort,
  ROOT,
  runCli,
  type ServerProcess,
  startServer,
} from './support/processes.js';

const BIN = join(ROOT, 'bin', 'keyward.js');

/** Every file under `dir`, as bytes (the database, its -wal and -shm, the key file). */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, bytes: readFileSync(path) }];
  });
}

/** Every row of every table, for "nothing changed" comparisons (the server must be stopped). */
function dump(dataDir: string): string {
  const db = new BetterSqlite3(join(dataDir, 'keyward.db'), { readonly: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' order by name").all() as {
      name: string;
    }[];
    return JSON.stringify(tables.map((t) => [t.name, db.prepare(`select * from "${t.name}"`).all()]));
  } finally {
    db.close();
  }
}

async function api(server: ServerProcess, rootKey: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${rootKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function auditLog(server: ServerProcess, rootKey: string): Promise<string> {
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const res: { body: { items: unknown[]; nextCursor: string | null } } = await api(
      server,
      rootKey,
      'GET',
      `/v1/audit?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return JSON.stringify(items);
}

const canary = () => `canary-${randomBytes(12).toString('hex')}`;

describe('vault end to end', () => {
  let dataDir: string;
  let server: ServerProcess;
  let rootKey: string;
  /** Every value ever written, by path and version. */
  const values: { path: string; version: number; value: string }[] = [];
  /** Signing secrets answered once (a secret's rotation webhook): never on disk either. */
  const signingSecrets: string[] = [];
  const cliEnv = () => ({ KEYWARD_URL: server.url, KEYWARD_ROOT_KEY: rootKey });

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-vault-'));
    server = await startServer(dataDir);
    rootKey = server.rootKey;
    // Many secrets, several versions each, written through the API and the CLI, then read back.
    for (let i = 0; i < 20; i++) {
      const path = `app/service-${i}`;
      for (let v = 1; v <= 3; v++) {
        const value = canary();
        const res = await api(server, rootKey, 'PUT', `/v1/secrets/${path}`, { value });
        expect(res.status).toBe(200);
        values.push({ path, version: res.body.version, value });
      }
    }
    for (const name of ['stripe-key', 'quotes-token']) {
      const value = canary();
      const put = await runCli(['secrets', 'put', `payments/${name}`, '-'], cliEnv(), {
        input: `${value}\n`,
      });
      expect(put.code).toBe(0);
      values.push({ path: `payments/${name}`, version: 1, value });
    }
    const value = canary();
    const rotated = await runCli(
      [
        'secrets',
        'put',
        'payments/rotated',
        '-',
        '--rotate-every',
        '30d',
        '--rotation-webhook',
        'http://127.0.0.1:9/rotate',
      ],
      cliEnv(),
      { input: value },
    );
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/rotation webhook: wh_\w+ → http:\/\/127\.0\.0\.1:9\/rotate/);
    expect(rotated.stdout).toMatch(/only time the signing secret is shown/);
    signingSecrets.push(/webhook secret: (whsec_\S+)/.exec(rotated.stdout)?.[1] ?? 'missing');
    values.push({ path: 'payments/rotated', version: 1, value });
    for (const { path, version } of values) {
      const res = await api(server, rootKey, 'GET', `/v1/secrets/${path}?version=${version}`);
      expect(res.status).toBe(200);
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads back every version through the CLI as written', async () => {
    const sample = values.filter((_, i) => i % 7 === 0);
    for (const { path, version, value } of sample) {
      const res = await runCli(['secrets', 'get', path, '--version', String(version)], cliEnv());
      expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 0, stdout: value });
    }
  });

  it('refuses --clear-rotation together with a rotation policy, writing nothing', async () => {
    const res = await runCli(
      ['secrets', 'put', 'payments/contradiction', '-', '--clear-rotation', '--rotate-every', '1d'],
      cliEnv(),
      { input: canary() },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--clear-rotation .* cannot go with --rotate-every/);
    expect((await api(server, rootKey, 'GET', '/v1/secrets/payments/contradiction')).status).toBe(404);
  });

  it('refuses an empty standard input, storing nothing; an empty value given outright is stored', async () => {
    for (const input of ['', '\n']) {
      const res = await runCli(['secrets', 'put', 'payments/empty-pipe', '-'], cliEnv(), { input });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/standard input was empty: nothing stored/);
    }
    expect((await api(server, rootKey, 'GET', '/v1/secrets/payments/empty-pipe')).status).toBe(404);

    const outright = await runCli(['secrets', 'put', 'payments/empty-on-purpose', ''], cliEnv());
    expect(outright.code).toBe(0);
    const read = await runCli(['secrets', 'get', 'payments/empty-on-purpose'], cliEnv());
    expect({ code: read.code, stdout: read.stdout }).toEqual({ code: 0, stdout: '' });
  });

  it('generates the master key file with mode 0600', () => {
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(server.stdout()).toMatch(/generated a vault master key/);
  });

  describe('keyward run', () => {
    let workDir: string;
    beforeAll(() => {
      workDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-run-'));
    });
    afterAll(() => rmSync(workDir, { recursive: true, force: true }));

    /** `keyward run …` in an empty working and home directory, so anything written would show. */
    function run(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void) {
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'run', ...args], {
          cwd: workDir,
          env: cleanEnv({ ...cliEnv(), HOME: workDir }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => {
          stdout += b.toString();
          onStdout?.(stdout, child);
        });
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('error', reject);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    }

    const printEnv =
      'process.stdout.write(JSON.stringify({ STRIPE_KEY: process.env.STRIPE_KEY, QUOTES_TOKEN: process.env.QUOTES_TOKEN, root: process.env.KEYWARD_ROOT_KEY ?? null, home: process.env.HOME }))';

    it("puts each secret in the child's environment and returns the child's exit code", async () => {
      const res = await run([
        '--path',
        'payments',
        '--',
        process.execPath,
        '-e',
        `${printEnv}; process.exit(7)`,
      ]);

      expect(res.code).toBe(7);
      const seen = JSON.parse(res.stdout);
      expect(seen).toEqual({
        STRIPE_KEY: values.find((v) => v.path === 'payments/stripe-key')?.value,
        QUOTES_TOKEN: values.find((v) => v.path === 'payments/quotes-token')?.value,
        // The command gets the secrets, not the key to the whole vault; the rest of the environment is inherited.
        root: null,
        home: workDir,
      });
      expect(readdirSync(workDir)).toEqual([]);
    });

    it('exits 0 when the child does, and 128 + n when a signal ends it', async () => {
      expect((await run(['--path', 'payments', '--', process.execPath, '-e', '0'])).code).toBe(0);

      const killed = await run([
        '--path',
        'payments',
        '--',
        process.execPath,
        '-e',
        "process.kill(process.pid, 'SIGKILL')",
      ]);

      expect(killed.code).toBe(128 + 9);
    });

    it('forwards SIGTERM to the child and exits with what the child made of it', async () => {
      const script =
        "process.on('SIGTERM', () => process.exit(42)); process.stdout.write('ready'); setInterval(() => {}, 1000)";

      const res = await run(['--path', 'payments', '--', process.execPath, '-e', script], (out, child) => {
        if (out === 'ready') child.kill('SIGTERM');
      });

      expect(res.code).toBe(42);
    });

    it('refuses two secrets that map to one variable, naming both, and runs nothing', async () => {
      await api(server, rootKey, 'PUT', '/v1/secrets/team-a/token', { value: canary() });
      await api(server, rootKey, 'PUT', '/v1/secrets/team-b/token', { value: canary() });

      const res = await run([
        '--path',
        'team-a',
        '--path',
        'team-b',
        '--',
        process.execPath,
        '-e',
        "console.log('ran')",
      ]);

      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/TOKEN would come from both team-a\/token and team-b\/token/);
      expect(res.stdout).toBe('');
    });

    it('refuses a secret whose name is not a valid variable', async () => {
      await api(server, rootKey, 'PUT', '/v1/secrets/odd/1password', { value: canary() });

      const res = await run(['--path', 'odd', '--', process.execPath, '-e', '0']);

      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/odd\/1password/);
    });

    it('says so when a prefix holds no secret the root key may read', async () => {
      const res = await run(['--path', 'nothing-here', '--', process.execPath, '-e', '0']);

      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/no secrets under nothing-here/);
    });

    it('answers 127 for a command that does not exist', async () => {
      expect((await run(['--path', 'payments', '--', 'keyward-no-such-command'])).code).toBe(127);
    });
  });

  it('exports dotenv and JSON with a warning on stderr', async () => {
    const dotenv = await runCli(['secrets', 'export', '--format', 'dotenv', 'payments'], cliEnv());
    const json = await runCli(['secrets', 'export', '--format', 'json', 'payments'], cliEnv());

    const stripe = values.find((v) => v.path === 'payments/stripe-key')?.value;
    expect(dotenv.code).toBe(0);
    expect(dotenv.stdout).toContain(`STRIPE_KEY='${stripe}'`);
    expect(dotenv.stderr).toMatch(/warning: .*plain text/);
    expect(JSON.parse(json.stdout).STRIPE_KEY).toBe(stripe);
  });

  describe('after the server stops', () => {
    let logs: string;
    let audit: string;
    beforeAll(async () => {
      audit = await auditLog(server, rootKey);
      await server.stop();
      logs = server.stdout() + server.stderr();
    });

    it('no secret value is in any byte of the data directory, the logs or the audit log', () => {
      const places = [
        ...filesUnder(dataDir),
        { path: 'server output', bytes: Buffer.from(logs) },
        { path: 'audit log', bytes: Buffer.from(audit) },
      ];
      expect(values.length).toBeGreaterThan(60);

      const found = values.flatMap(({ value }) =>
        places
          .filter((p) => p.bytes.includes(Buffer.from(value)))
          .map((p) => `${value.slice(0, 12)}… in ${p.path}`),
      );

      expect(found).toEqual([]);
      expect(signingSecrets).toEqual([expect.stringMatching(/^whsec_/)]);
      for (const secret of signingSecrets)
        expect(places.filter((p) => p.bytes.includes(Buffer.from(secret))).map((p) => p.path)).toEqual([]);
      // …while the audit log does record the reads, by path and version.
      expect(audit).toContain('"action":"secret.read"');
      expect(audit).toContain('app/service-7');
    });

    it('a wrong master key stops the start, says so, and changes nothing', async () => {
      const before = dump(dataDir);
      const keyFile = readFileSync(join(dataDir, 'master.key'));
      const port = await freePort();

      const res = await runCli(['serve', '--data', dataDir, '--port', String(port)], {
        KEYWARD_MASTER_KEY: randomBytes(32).toString('base64'),
      });

      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/master key is wrong/);
      expect(res.stdout).not.toMatch(/root key:/);
      expect(dump(dataDir)).toBe(before);
      expect(readFileSync(join(dataDir, 'master.key'))).toEqual(keyFile);
      expect(readdirSync(dataDir).filter((f) => f.startsWith('master'))).toEqual(['master.key']);
    });

    it('a malformed master key is a clear configuration error that never echoes the key', async () => {
      const res = await runCli(['serve', '--data', dataDir, '--port', String(await freePort())], {
        KEYWARD_MASTER_KEY: 'not-a-key-but-still-private',
      });

      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/KEYWARD_MASTER_KEY must be 32 bytes encoded as base64/);
      expect(res.stderr + res.stdout).not.toContain('not-a-key-but-still-private');
    });

    it('rotate-master-key re-wraps every data key: all versions stay readable, the old key opens nothing', async () => {
      const oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();

      const rotated = await runCli(['vault', 'rotate-master-key', '--data', dataDir, '--json'], {});

      expect(rotated.code).toBe(0);
      const result = JSON.parse(rotated.stdout);
      expect(result.rewrapped).toBeGreaterThanOrEqual(values.length);
      expect(rotated.stderr).toMatch(/re-sealing under the new master key .*100%/);
      const newKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
      expect(newKey).not.toBe(oldKey);
      expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);

      const refused = await runCli(['serve', '--data', dataDir, '--port', String(await freePort())], {
        KEYWARD_MASTER_KEY: oldKey,
      });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/master key is wrong/);

      const again = await startServer(dataDir, { expectRootKey: false });
      try {
        for (const { path, version, value } of values) {
          const res = await api(again, rootKey, 'GET', `/v1/secrets/${path}?version=${version}`);
          expect({ path, version, value: res.body.value }).toEqual({ path, version, value });
        }
      } finally {
        await again.stop();
      }
    });

    it('rotating a key given by KEYWARD_MASTER_KEY needs KEYWARD_NEW_MASTER_KEY, and then uses it', async () => {
      const current = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
      const next = randomBytes(32).toString('base64');

      const refused = await runCli(['vault', 'rotate-master-key', '--data', dataDir], {
        KEYWARD_MASTER_KEY: current,
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/set KEYWARD_NEW_MASTER_KEY/);

      const done = await runCli(['vault', 'rotate-master-key', '--data', dataDir], {
        KEYWARD_MASTER_KEY: current,
        KEYWARD_NEW_MASTER_KEY: next,
      });
      expect(done.code).toBe(0);
      expect(done.stderr).toMatch(/set KEYWARD_MASTER_KEY to the new key/);

      const again = await startServer(dataDir, { expectRootKey: false, env: { KEYWARD_MASTER_KEY: next } });
      try {
        const { path, value } = values[values.length - 1] ?? { path: '', value: '' };
        expect((await api(again, rootKey, 'GET', `/v1/secrets/${path}`)).body.value).toBe(value);
      } finally {
        await again.stop();
      }
    });
  });
});

describe('vault on PostgreSQL without a master key', () => {
  it('refuses to start and says which setting is missing', async () => {
    const res = await runCli(['serve', '--port', String(await freePort())], {
      KEYWARD_DATABASE_URL: 'postgres://keyward@127.0.0.1:1/none',
    });

    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(
      /KEYWARD_MASTER_KEY \(or KEYWARD_MASTER_KEY_FILE\) is required with PostgreSQL/,
    );
  });
});
