import { describeAlertStoreContract } from './alert.contract.js';
import { MemoryStore } from './memory-store.js';
import { describeStoreContract } from './store.contract.js';
import { describeUsageStoreContract } from './usage.contract.js';
import { describeVaultStoreContract } from './vault.contract.js';

describeStoreContract('memory', async () => new MemoryStore());
describeVaultStoreContract('memory', async () => new MemoryStore());
describeAlertStoreContract('memory', async () => new MemoryStore());
describeUsageStoreContract('memory', async () => new MemoryStore());
