import { type Kysely, sql, type Transaction } from 'kysely';
import type { KeyRecord, KeyspaceRecord } from '../../core/store/index.js';
import type { RotationDueRecord } from '../../core/store/scheduler-store.js';
import { toKey, toKeyspace } from './rows.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface SchedulerTables {
  leases: { name: string; holder: string; expires_at: number };
  key_rotation_due: { key_id: string; workspace_id: string; due_at: number; grace_ends_at: number };
}

export async function acquireLease(
  db: Db,
  name: string,
  holder: string,
  ttlMs: number,
  now: number,
): Promise<boolean> {
  // One statement: insert, or take over an expired lease, or renew our own — never steal a live one.
  const row = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: now + ttlMs })
        .where((eb) => eb.or([eb('leases.expires_at', '<', now), eb('leases.holder', '=', holder)])),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}

export async function listKeyspacesWithRotation(db: Db): Promise<KeyspaceRecord[]> {
  const rows = await db
    .selectFrom('keyspaces')
    .selectAll()
    .where('rotation', 'like', '%maxAgeSeconds%')
    .execute();
  return rows.map(toKeyspace).filter((k) => k.rotation.maxAgeSeconds !== undefined);
}

export async function listRotationCandidates(
  db: Db,
  keyspaceId: string,
  createdBefore: number,
  now: number,
  limit: number,
): Promise<KeyRecord[]> {
  const rows = await db
    .selectFrom('keys')
    .selectAll()
    .where('keyspace_id', '=', keyspaceId)
    .where('status', '=', 'active')
    .where('replaced_by', 'is', null)
    .where('created_at', '<=', createdBefore)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('key_rotation_due')
            .select(sql`1`.as('one'))
            .whereRef('key_rotation_due.key_id', '=', 'keys.id'),
        ),
      ),
    )
    .orderBy('created_at', 'asc')
    .limit(limit)
    .execute();
  return rows.map(toKey);
}

export async function markRotationDue(db: Db, r: RotationDueRecord): Promise<boolean> {
  const inserted = await db
    .insertInto('key_rotation_due')
    .values({ key_id: r.keyId, workspace_id: r.workspaceId, due_at: r.dueAt, grace_ends_at: r.graceEndsAt })
    .onConflict((oc) => oc.column('key_id').doNothing())
    .returning('key_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function getRotationDue(db: Db, keyId: string): Promise<RotationDueRecord | undefined> {
  const r = await db
    .selectFrom('key_rotation_due')
    .selectAll()
    .where('key_id', '=', keyId)
    .executeTakeFirst();
  return r
    ? {
        keyId: r.key_id,
        workspaceId: r.workspace_id,
        dueAt: Number(r.due_at),
        graceEndsAt: Number(r.grace_ends_at),
      }
    : undefined;
}
