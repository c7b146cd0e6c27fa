import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../core/store/index.js';
import { MasterKey, makeKeyCheck, rotateMasterKey } from '../core/vault/index.js';
import { loadConfig } from './config.js';
import { openMasterKey, resolveMasterKey } from './master-key.js';

const random = (n: number) => randomBytes(n);

describe('the master key at start', () => {
  let dir: string;
  let store: MemoryStore;
  let logged: string[];
  const logger = () => pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
  const open = (env: Record<string, string> = {}) =>
    openMasterKey(loadConfig({ data: dir }, env), store, { random, now: 1, logger: logger() });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-master-key-'));
    store = new MemoryStore();
    logged = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates <data>/master.key with mode 0600 and a warning on a first start with SQLite, then reuses it', async () => {
    const first = await open();

    expect(first.kind).toBe('generated');
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(logged.join('')).toMatch(/generated a vault master key/);
    expect(logged.join('')).not.toContain(first.key.toBase64());
    const second = await open();
    expect(second.kind).toBe('file');
    expect(second.key.toBase64()).toBe(first.key.toBase64());
  });

  it('takes KEYWARD_MASTER_KEY over any file, and writes none', async () => {
    const key = randomBytes(32).toString('base64');

    const source = await open({ KEYWARD_MASTER_KEY: key });

    expect(source).toMatchObject({ kind: 'env' });
    expect(source.key.toBase64()).toBe(key);
    expect(existsSync(join(dir, 'master.key'))).toBe(false);
  });

  it('reads KEYWARD_MASTER_KEY_FILE, and names the file when it cannot', async () => {
    const file = join(dir, 'elsewhere.key');
    const key = randomBytes(32).toString('base64');
    writeFileSync(file, `${key}\n`, { mode: 0o600 });

    expect((await open({ KEYWARD_MASTER_KEY_FILE: file })).key.toBase64()).toBe(key);
    await expect(open({ KEYWARD_MASTER_KEY_FILE: join(dir, 'missing.key') })).rejects.toThrow(
      /cannot read the master key file .*missing\.key \(ENOENT\)/,
    );
  });

  it('refuses PostgreSQL without a master key', () => {
    const config = loadConfig({ data: dir }, { KEYWARD_DATABASE_URL: 'postgres://db/keyward' });

    expect(() => resolveMasterKey(config, { random, generate: true })).toThrow(/required with PostgreSQL/);
  });

  it('will not generate a key for a store that already holds vault data', async () => {
    await store.insertMasterKeyCheck(makeKeyCheck(MasterKey.generate(random), random), 1);

    await expect(open()).rejects.toThrow(/the store holds vault data/);
    expect(existsSync(join(dir, 'master.key'))).toBe(false);
  });

  it('finishes a rotation that committed but did not rename master.key.new', async () => {
    const { key: old } = await open();
    const next = MasterKey.generate(random);
    await rotateMasterKey(store, old, next, random, 2);
    writeFileSync(join(dir, 'master.key.new'), next.toBase64(), { mode: 0o600 });

    const source = await open();

    expect(source.key.toBase64()).toBe(next.toBase64());
    expect(readFileSync(join(dir, 'master.key'), 'utf8').trim()).toBe(next.toBase64());
    expect(existsSync(join(dir, 'master.key.new'))).toBe(false);
  });

  it('refuses a key file that does not open the vault, leaving it in place', async () => {
    await open();
    writeFileSync(join(dir, 'master.key'), MasterKey.generate(random).toBase64());

    await expect(open()).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    expect(existsSync(join(dir, 'master.key'))).toBe(true);
  });
});
