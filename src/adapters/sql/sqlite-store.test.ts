import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAlertStoreContract } from '../../core/store/alert.contract.js';
import { describeSchedulerStoreContract } from '../../core/store/scheduler.contract.js';
import { describeStoreContract } from '../../core/store/store.contract.js';
import { describeUsageStoreContract } from '../../core/store/usage.contract.js';
import { describeVaultStoreContract } from '../../core/store/vault.contract.js';
import { describeWebhookStoreContract } from '../../core/store/webhook.contract.js';
import { openSqliteStore } from './sqlite.js';

describeStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
describeVaultStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
describeUsageStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
describeAlertStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
describeSchedulerStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
describeWebhookStoreContract('sqlite', async () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'keyward-sqlite-')), 'k.db')),
);
