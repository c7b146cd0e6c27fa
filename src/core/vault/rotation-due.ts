import type { AuditLog } from '../audit/index.js';
import { type Clock, toIso } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { Store } from '../store/index.js';

const BATCH = 100;
/** One run handles at most this many secrets; the next run picks up the rest. */
const MAX_PER_RUN = 10_000;

/**
 * Finds secrets whose current version outlived `rotation.maxAgeSeconds` and records
 * `secret.rotation_due` for each — once per version, however many nodes run the check: the
 * event, its audit entry and the conditional "notified" mark commit in one transaction, and
 * only the node whose mark changed the row writes them. The event goes to the outbox, from
 * where webhook delivery (and `rotation.webhook`) picks it up; it carries no value.
 *
 * Returns how many secrets became due in this run.
 */
export async function recordDueRotations(
  store: Store,
  audit: AuditLog,
  clock: Clock,
  random: RandomSource,
): Promise<number> {
  const now = clock.now();
  let notified = 0;
  for (let seen = 0; seen < MAX_PER_RUN; ) {
    const due = await store.listSecretsDueForRotation(now, BATCH);
    let progressed = false;
    for (const secret of due) {
      const version = secret.currentVersion;
      if (version === null || secret.rotation === null) continue;
      const marked = await store.transaction(async (tx) => {
        if (!(await tx.markSecretRotationNotified(secret.workspaceId, secret.path, version))) return false;
        const data = {
          path: secret.path,
          version,
          dueAt: toIso(secret.rotationDueAt ?? now),
          maxAgeSeconds: secret.rotation?.maxAgeSeconds ?? null,
          webhook: secret.rotation?.webhook ?? null,
        };
        await tx.recordEvent({
          id: newId('event', random),
          workspaceId: secret.workspaceId,
          type: 'secret.rotation_due',
          data,
          createdAt: now,
        });
        await audit.append(tx, {
          workspaceId: secret.workspaceId,
          actor: 'system',
          ip: null,
          action: 'secret.rotation_due',
          targetType: 'secret',
          targetId: secret.path,
          data,
        });
        return true;
      });
      if (marked) notified++;
      // Marked here or by another node: either way the row no longer matches, so the loop ends.
      progressed = true;
    }
    seen += due.length;
    if (due.length < BATCH || !progressed) break;
  }
  return notified;
}
