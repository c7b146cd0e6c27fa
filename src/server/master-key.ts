import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RandomSource } from '../core/crypto/index.js';
import type { StoreOps } from '../core/store/index.js';
import { ensureMasterKey, MasterKey, MasterKeyFormatError, masterKeyOpens } from '../core/vault/index.js';
import { type Config, ConfigError } from './config.js';

/**
 * Where the vault's master key comes from, in this order:
 *
 * 1. `KEYWARD_MASTER_KEY` — 32 bytes as base64;
 * 2. `KEYWARD_MASTER_KEY_FILE` — a file holding that base64 (a mounted secret, say);
 * 3. with SQLite only, `<dataDir>/master.key`, generated (mode 0600, with a warning) the first
 *    time the server starts. With PostgreSQL there is no default: several nodes must share
 *    one key, and a key generated on one node's disk would be a trap.
 */
export interface MasterKeySource {
  key: MasterKey;
  kind: 'env' | 'file' | 'generated';
  /** The key file, for `file` and `generated`. */
  file?: string;
}

export const DEFAULT_KEY_FILE = 'master.key';

/** The file a master-key rotation writes before its transaction and renames over the key file after it. */
export const pendingKeyFile = (file: string): string => `${file}.new`;

function parseKey(text: string, where: string): MasterKey {
  try {
    return MasterKey.fromBase64(text);
  } catch (err) {
    // The message says what is wrong with the key, never the key.
    if (err instanceof MasterKeyFormatError)
      throw new ConfigError(`${where} ${err.message} (make one with: openssl rand -base64 32)`);
    throw err;
  }
}

export function readKeyFile(file: string, logger?: Logger): MasterKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new ConfigError(`cannot read the master key file ${file} (${code})`);
  }
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0 && process.platform !== 'win32')
    logger?.warn({ file }, 'the master key file is readable by other users: chmod 600 it');
  return parseKey(text, `the master key file ${file}`);
}

/** Writes a key file readable by its owner only, refusing to overwrite one. */
export function writeKeyFile(file: string, key: MasterKey): void {
  writeFileSync(file, `${key.toBase64()}\n`, { mode: 0o600, flag: 'wx' });
}

/** Fails fast, before any connection, when PostgreSQL is configured without a master key. */
export function requireMasterKeySetting(config: Config): void {
  if (
    config.databaseUrl !== undefined &&
    config.masterKey === undefined &&
    config.masterKeyFile === undefined
  )
    throw new ConfigError(
      'KEYWARD_MASTER_KEY (or KEYWARD_MASTER_KEY_FILE) is required with PostgreSQL: every node must use the same vault master key. ' +
        'Make one with `openssl rand -base64 32` and give it to every node',
    );
}

export function resolveMasterKey(
  config: Config,
  opts: { random: RandomSource; generate: boolean; logger?: Logger | undefined },
): MasterKeySource {
  if (config.masterKey !== undefined)
    return { key: parseKey(config.masterKey, 'KEYWARD_MASTER_KEY'), kind: 'env' };
  if (config.masterKeyFile !== undefined)
    return { key: readKeyFile(config.masterKeyFile, opts.logger), kind: 'file', file: config.masterKeyFile };
  requireMasterKeySetting(config);
  const file = join(config.dataDir, DEFAULT_KEY_FILE);
  if (existsSync(file)) return { key: readKeyFile(file, opts.logger), kind: 'file', file };
  if (!opts.generate)
    throw new ConfigError(
      `no master key: the store holds vault data, but neither KEYWARD_MASTER_KEY nor KEYWARD_MASTER_KEY_FILE is set and ${file} does not exist. ` +
        'Restore the key file or set the key the data was written with; a new key would open nothing',
    );
  const key = MasterKey.generate(opts.random);
  try {
    writeKeyFile(file, key);
  } catch (err) {
    // Another process starting on the same directory wrote it first: use theirs.
    if ((err as { code?: string }).code === 'EEXIST')
      return { key: readKeyFile(file, opts.logger), kind: 'file', file };
    throw err;
  }
  opts.logger?.warn(
    { file },
    'generated a vault master key in the data directory (mode 0600). Whoever can read this file and the database can decrypt every secret: back it up apart from the database, or set KEYWARD_MASTER_KEY / KEYWARD_MASTER_KEY_FILE',
  );
  return { key, kind: 'generated', file };
}

/**
 * The master key, checked against the store before anything is written: a key that does not
 * open the existing vault stops the start (MASTER_KEY_MISMATCH) with nothing changed.
 *
 * One recovery: a master-key rotation that committed but died before renaming `<file>.new`
 * over the key file leaves the new key in `<file>.new`. If that one opens the vault, the
 * rename is finished here.
 */
export async function openMasterKey(
  config: Config,
  store: StoreOps,
  opts: { random: RandomSource; now: number; logger?: Logger | undefined },
): Promise<MasterKeySource> {
  // A key is generated only for a store that has no vault yet: for one that has, a new key
  // would open nothing, and writing it would be a change to undo.
  const hasVault =
    (await store.getMasterKeyCheck()) !== undefined || (await store.scanWrappedKeys(undefined, 1)).length > 0;
  const source = resolveMasterKey(config, { ...opts, generate: !hasVault });
  const file = source.file;
  if (file !== undefined && !(await masterKeyOpens(store, source.key))) {
    const pending = pendingKeyFile(file);
    if (existsSync(pending)) {
      const next = readKeyFile(pending, opts.logger);
      if (await masterKeyOpens(store, next)) {
        renameSync(pending, file);
        opts.logger?.warn(
          { file },
          'finished an interrupted master-key rotation: the new key is now in the key file',
        );
        return { ...source, key: next };
      }
    }
  }
  await ensureMasterKey(store, source.key, opts.random, opts.now);
  return source;
}
