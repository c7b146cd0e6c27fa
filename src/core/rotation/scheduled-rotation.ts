import type { AuditLog } from '../audit/index.js';
import type { CacheBus } from '../cache-bus/index.js';
import type { Clock } from '../clock/index.js';
import { newId } from '../ids/index.js';
import type { ScheduledTask } from '../scheduler/index.js';
import type { KeyRecord, KeyspaceRecord, Store } from '../store/index.js';

const BATCH = 200;

/**
 * A keyspace's `rotation.maxAgeSeconds`: a key that reaches it becomes due — `key.rotation_due`
 * is recorded (webhooks deliver it) and its grace period starts; it expires at the end of the
 * grace period unless it was rotated before. Runs on the scheduler's leader; each key is marked
 * due once (the mark and its event commit together), so a rerun does nothing twice.
 */
export class ScheduledRotation implements ScheduledTask {
  readonly name = 'rotation-due';

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    readonly intervalMs = 30_000,
  ) {}

  async run(now: number): Promise<void> {
    for (const ks of await this.store.listKeyspacesWithRotation()) {
      const maxAge = ks.rotation.maxAgeSeconds;
      if (maxAge === undefined) continue;
      for (;;) {
        const due = await this.store.listRotationCandidates(ks.id, now - maxAge * 1000, now, BATCH);
        for (const key of due) await this.markDue(ks, key, maxAge);
        if (due.length < BATCH) break;
      }
    }
  }

  private async markDue(ks: KeyspaceRecord, key: KeyRecord, maxAgeSeconds: number): Promise<void> {
    const dueAt = key.createdAt + maxAgeSeconds * 1000;
    const graceEndsAt = dueAt + (ks.rotation.gracePeriodSeconds ?? 0) * 1000;
    const now = this.clock.now();
    const marked = await this.store.transaction(async (tx) => {
      if (!(await tx.markRotationDue({ keyId: key.id, workspaceId: key.workspaceId, dueAt, graceEndsAt })))
        return false;
      // The grace period never extends a key's lifetime.
      const expiresAt = key.expiresAt === null ? graceEndsAt : Math.min(key.expiresAt, graceEndsAt);
      await tx.updateKey(key.workspaceId, key.id, { expiresAt, updatedAt: now });
      const data = {
        keyId: key.id,
        keyspaceId: key.keyspaceId,
        ownerId: key.ownerId,
        start: key.start,
        dueAt: new Date(dueAt).toISOString(),
        graceEndsAt: new Date(expiresAt).toISOString(),
      };
      await tx.recordEvent({
        id: newId('event'),
        workspaceId: key.workspaceId,
        type: 'key.rotation_due',
        data,
        createdAt: now,
      });
      await this.audit.append(tx, {
        workspaceId: key.workspaceId,
        actor: 'system:scheduler',
        ip: null,
        action: 'key.rotation_due',
        targetType: 'key',
        targetId: key.id,
        data: { dueAt: data.dueAt, graceEndsAt: data.graceEndsAt, maxAgeSeconds },
      });
      return true;
    });
    if (marked) await this.bus.publish({ kind: 'key', hash: key.hash });
  }
}
