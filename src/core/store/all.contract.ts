import { describeAlertStoreContract } from './alert.contract.js';
import { describeSchedulerStoreContract } from './scheduler.contract.js';
import { describeStoreContract } from './store.contract.js';
import type { Store } from './store.js';
import { describeUsageStoreContract } from './usage.contract.js';
import { describeVaultStoreContract } from './vault.contract.js';
import { describeWebhookStoreContract } from './webhook.contract.js';

/** Every part of the store contract, against one implementation; each test opens a fresh store. */
export function describeAllStoreContracts(name: string, open: () => Promise<Store>): void {
  for (const describePart of [
    describeStoreContract,
    describeVaultStoreContract,
    describeAlertStoreContract,
    describeUsageStoreContract,
    describeSchedulerStoreContract,
    describeWebhookStoreContract,
  ]) {
    describePart(name, open);
  }
}
