import { MemoryStore } from './memory-store.js';
import { describeStoreContract } from './store.contract.js';
import { describeVaultStoreContract } from './vault.contract.js';

describeStoreContract('memory', async () => new MemoryStore());
describeVaultStoreContract('memory', async () => new MemoryStore());
