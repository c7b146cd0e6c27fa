import type { Kysely, Transaction } from 'kysely';
import type { EventRecord } from '../../core/store/records.js';
import type {
  BulkRevokeFilter,
  IncidentNote,
  IncidentRecord,
  RevokedKeyRef,
} from '../../core/store/revocation-store.js';
import type { Database } from './schema.js';
import { locksRows } from './sql-values.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface RevocationTables {
  incidents: {
    id: string;
    workspace_id: string;
    reason: string;
    actor: string;
    key_ids: string;
    filter: string;
    status: string;
    notes: string;
    created_at: number;
    closed_at: number | null;
  };
}

export async function bulkRevokeKeys(
  db: Db,
  f: BulkRevokeFilter,
  at: number,
  reason: string,
): Promise<RevokedKeyRef[]> {
  let matching = db
    .selectFrom('keys')
    .select('id')
    .where('workspace_id', '=', f.workspaceId)
    .where('status', '!=', 'revoked');
  if (f.keyspaceId !== undefined) matching = matching.where('keyspace_id', '=', f.keyspaceId);
  if (f.ownerId !== undefined) matching = matching.where('owner_id', '=', f.ownerId);
  if (f.createdBefore !== undefined) matching = matching.where('created_at', '<', f.createdBefore);
  if (f.createdAfter !== undefined) matching = matching.where('created_at', '>', f.createdAfter);
  // PostgreSQL: the rows locked in id order first (see locksRows), then updated.
  const target = locksRows(db) ? matching.orderBy('id').forUpdate() : matching;
  const rows = await db
    .updateTable('keys')
    .set({ status: 'revoked', revoked_at: at, revoke_reason: reason, updated_at: at })
    .where('id', 'in', target)
    .where('status', '!=', 'revoked')
    .returning(['id', 'hash', 'keyspace_id', 'owner_id'])
    .execute();
  return rows.map((r) => ({ id: r.id, hash: r.hash, keyspaceId: r.keyspace_id, ownerId: r.owner_id }));
}

const EVENT_CHUNK = 200;

export async function recordEvents(db: Db, events: readonly EventRecord[]): Promise<void> {
  for (let i = 0; i < events.length; i += EVENT_CHUNK) {
    await db
      .insertInto('events')
      .values(
        events.slice(i, i + EVENT_CHUNK).map((e) => ({
          id: e.id,
          workspace_id: e.workspaceId,
          type: e.type,
          data: JSON.stringify(e.data),
          created_at: e.createdAt,
        })),
      )
      .execute();
  }
}

function toIncident(r: RevocationTables['incidents']): IncidentRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    reason: r.reason,
    actor: r.actor,
    keyIds: JSON.parse(r.key_ids) as string[],
    filter: JSON.parse(r.filter) as Record<string, unknown>,
    status: r.status as 'open' | 'closed',
    notes: JSON.parse(r.notes) as IncidentNote[],
    createdAt: Number(r.created_at),
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
  };
}

export async function insertIncident(db: Db, i: IncidentRecord): Promise<void> {
  await db
    .insertInto('incidents')
    .values({
      id: i.id,
      workspace_id: i.workspaceId,
      reason: i.reason,
      actor: i.actor,
      key_ids: JSON.stringify(i.keyIds),
      filter: JSON.stringify(i.filter),
      status: i.status,
      notes: JSON.stringify(i.notes),
      created_at: i.createdAt,
      closed_at: i.closedAt,
    })
    .execute();
}

export async function getIncident(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<IncidentRecord | undefined> {
  const r = await db
    .selectFrom('incidents')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toIncident(r);
}

export async function updateIncident(
  db: Db,
  workspaceId: string,
  id: string,
  patch: { status?: 'open' | 'closed'; notes?: IncidentNote[]; closedAt?: number | null },
): Promise<void> {
  const set: Partial<RevocationTables['incidents']> = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.notes !== undefined) set.notes = JSON.stringify(patch.notes);
  if (patch.closedAt !== undefined) set.closed_at = patch.closedAt;
  if (Object.keys(set).length === 0) return;
  await db
    .updateTable('incidents')
    .set(set)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}
