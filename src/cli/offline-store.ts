import { existsSync } from 'node:fs';
import type { Config } from '../server/config.js';
import { sqliteFile } from '../server/services.js';
import { CliError } from './client.js';

/**
 * The offline commands (`root-keys create`, `vault rotate-master-key`) work on the server's own
 * store. On SQLite that is `sqliteFile` (`<data>/keyward.db`): a mistyped `--data` (or the wrong working
 * directory) must not quietly make a new, empty store, nor be blamed on something else.
 */
export function requireExistingStore(config: Config): void {
  if (config.databaseUrl === undefined && !existsSync(sqliteFile(config)))
    throw new CliError(
      `no Keyward store in ${config.dataDir} (no keyward.db there): pass the server's --data directory ` +
        '(or set KEYWARD_DATA_DIR), or start the server once to create it',
    );
}
