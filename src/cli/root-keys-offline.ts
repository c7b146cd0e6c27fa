import { AuditLog } from '../core/audit/index.js';
import { InProcessCacheBus } from '../core/cache-bus/index.js';
import { systemClock } from '../core/clock/index.js';
import { secureRandom } from '../core/crypto/index.js';
import { RootKeys } from '../core/root-keys/index.js';
import { Workspaces } from '../core/workspaces/index.js';
import { loadConfig } from '../server/config.js';
import { openStore } from '../server/services.js';
import { requireExistingStore } from './offline-store.js';

/**
 * `keyward root-keys create --data DIR`: writes straight to the store, for bootstrapping and
 * recovery when no root key is at hand. A running server sees the new key within a second.
 */
export async function createRootKeyOffline(opts: {
  data?: string | undefined;
  workspace: string;
  permission: string[];
  name?: string | undefined;
}): Promise<{ key: string; id: string; workspaceId: string }> {
  const config = loadConfig({ data: opts.data });
  requireExistingStore(config);
  const store = await openStore(config);
  try {
    const audit = new AuditLog(store, systemClock);
    const rootKeys = new RootKeys(store, audit, new InProcessCacheBus(), systemClock, secureRandom);
    const workspaces = new Workspaces(store, audit, rootKeys, systemClock, secureRandom);
    return await workspaces.createRootKeyOffline({
      workspace: opts.workspace,
      name: opts.name ?? null,
      permissions: opts.permission.length > 0 ? opts.permission : ['*'],
    });
  } finally {
    await store.close();
  }
}
