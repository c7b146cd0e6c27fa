import { describeAllStoreContracts } from './all.contract.js';
import { MemoryStore } from './memory-store.js';

describeAllStoreContracts('memory', async () => new MemoryStore());
