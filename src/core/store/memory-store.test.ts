import { describeAlertStoreContract } from './alert.contract.js';
import { MemoryStore } from './memory-store.js';
import { describeSchedulerStoreContract } from './scheduler.contract.js';
import { describeStoreContract } from './store.contract.js';
import { describeUsageStoreContract } from './usage.contract.js';
import { describeVaultStoreContract } from './vault.contract.js';
import { describeWebhookStoreContract } from './webhook.contract.js';

describeStoreContract('memory', async () => new MemoryStore());
describeVaultStoreContract('memory', async () => new MemoryStore());
describeAlertStoreContract('memory', async () => new MemoryStore());
describeUsageStoreContract('memory', async () => new MemoryStore());
describeSchedulerStoreContract('memory', async () => new MemoryStore());
describeWebhookStoreContract('memory', async () => new MemoryStore());
