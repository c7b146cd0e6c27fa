import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAllStoreContracts } from '../../core/store/all.contract.js';
import { openSqliteStore } from './sqlite.js';

describeAllStoreContracts('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
