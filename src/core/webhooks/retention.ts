import type { Clock } from '../clock/index.js';
import type { Store } from '../store/index.js';
import { DAY_MS, deleteInChunks } from '../usage/usage-retention.js';

/** Rows deleted per statement and kind, so a purge never holds a long lock. */
const CHUNK = 5_000;

/**
 * Deletes the webhook history older than `days` (`KEYWARD_WEBHOOK_RETENTION_DAYS`; 0 keeps it
 * forever): finished deliveries and their log, dispatched outbox events, and the reminders of
 * expiries that passed. What is still pending is never touched. Idempotent: several nodes may
 * purge at once. Resolves to how many rows it deleted.
 */
export function purgeWebhookHistory(
  store: Store,
  clock: Clock,
  days: number,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<number> {
  if (days <= 0) return Promise.resolve(0);
  const before = clock.now() - days * DAY_MS;
  return deleteInChunks((limit) => store.purgeWebhookHistory(before, limit), CHUNK, pause);
}
