import { type Kysely, sql, type Transaction } from 'kysely';
import type {
  SecretListFilter,
  SecretPatch,
  SecretRecord,
  SecretRotation,
  SecretVersionMeta,
  SecretVersionRecord,
  VersionPosition,
  WrappedKeyRef,
} from '../../core/store/index.js';
import type { Database } from './schema.js';
import { num, numOrNull, unique } from './sql-values.js';
import type { SecretsTable, SecretVersionsTable } from './vault-schema.js';

/**
 * The vault's store operations over one Kysely handle (the database or a transaction). SqlOps
 * delegates to these; they are plain functions so the vault's SQL lives in one place.
 */
type Db = Kysely<Database> | Transaction<Database>;

function toSecret(r: SecretsTable): SecretRecord {
  return {
    workspaceId: r.workspace_id,
    path: r.path,
    meta: JSON.parse(r.meta) as Record<string, unknown>,
    rotation: r.rotation === null ? null : (JSON.parse(r.rotation) as SecretRotation),
    latestVersion: num(r.latest_version),
    currentVersion: numOrNull(r.current_version),
    pendingVersion: numOrNull(r.pending_version),
    previousVersion: numOrNull(r.previous_version),
    currentSince: numOrNull(r.current_since),
    rotationDueAt: numOrNull(r.rotation_due_at),
    rotationNotifiedVersion: numOrNull(r.rotation_notified_version),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    deletedAt: numOrNull(r.deleted_at),
  };
}

function toVersion(r: SecretVersionsTable): SecretVersionRecord {
  return {
    workspaceId: r.workspace_id,
    path: r.path,
    version: num(r.version),
    ciphertext: r.ciphertext,
    wrappedKey: r.wrapped_key,
    createdAt: num(r.created_at),
    createdBy: r.created_by,
    destroyedAt: numOrNull(r.destroyed_at),
  };
}

function secretColumns(p: SecretPatch): Partial<SecretsTable> {
  const c: Partial<SecretsTable> = { updated_at: p.updatedAt };
  if (p.meta !== undefined) c.meta = JSON.stringify(p.meta);
  if (p.rotation !== undefined) c.rotation = p.rotation === null ? null : JSON.stringify(p.rotation);
  if (p.latestVersion !== undefined) c.latest_version = p.latestVersion;
  if (p.currentVersion !== undefined) c.current_version = p.currentVersion;
  if (p.pendingVersion !== undefined) c.pending_version = p.pendingVersion;
  if (p.previousVersion !== undefined) c.previous_version = p.previousVersion;
  if (p.currentSince !== undefined) c.current_since = p.currentSince;
  if (p.rotationDueAt !== undefined) c.rotation_due_at = p.rotationDueAt;
  if (p.deletedAt !== undefined) c.deleted_at = p.deletedAt;
  return c;
}

export async function getSecret(db: Db, ws: string, path: string): Promise<SecretRecord | undefined> {
  const r = await db
    .selectFrom('secrets')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('path', '=', path)
    .executeTakeFirst();
  return r && toSecret(r);
}

export async function insertSecret(db: Db, s: SecretRecord): Promise<void> {
  await unique('secret path', () =>
    db
      .insertInto('secrets')
      .values({
        workspace_id: s.workspaceId,
        path: s.path,
        meta: JSON.stringify(s.meta),
        rotation: s.rotation === null ? null : JSON.stringify(s.rotation),
        latest_version: s.latestVersion,
        current_version: s.currentVersion,
        pending_version: s.pendingVersion,
        previous_version: s.previousVersion,
        current_since: s.currentSince,
        rotation_due_at: s.rotationDueAt,
        rotation_notified_version: s.rotationNotifiedVersion,
        created_at: s.createdAt,
        updated_at: s.updatedAt,
        deleted_at: s.deletedAt,
      })
      .execute(),
  );
}

export async function updateSecret(
  db: Db,
  ws: string,
  path: string,
  patch: SecretPatch,
  guard?: { latestVersion: number },
): Promise<boolean> {
  let q = db
    .updateTable('secrets')
    .set(secretColumns(patch))
    .where('workspace_id', '=', ws)
    .where('path', '=', path);
  // The check-and-set: on PostgreSQL the UPDATE also takes the row lock, so of two writers that
  // read the same latest version exactly one changes the row.
  if (guard) q = q.where('latest_version', '=', guard.latestVersion);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function listSecrets(db: Db, ws: string, f: SecretListFilter): Promise<SecretRecord[]> {
  let q = db
    .selectFrom('secrets')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('deleted_at', f.deleted ? 'is not' : 'is', null);
  const prefix = f.prefix;
  if (prefix !== undefined)
    // substr rather than LIKE: `_` is a path character and a LIKE wildcard.
    q = q.where((eb) =>
      eb.or([
        eb('path', '=', prefix),
        eb(sql<string>`substr(path, 1, ${sql.lit(prefix.length + 1)})`, '=', `${prefix}/`),
      ]),
    );
  const after = f.after;
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('path', '<', after.path)]),
      ]),
    );
  const rows = await q.orderBy('created_at', 'desc').orderBy('path', 'desc').limit(f.limit).execute();
  return rows.map(toSecret);
}

export async function insertSecretVersion(db: Db, v: SecretVersionRecord): Promise<void> {
  await unique('secret version', () =>
    db
      .insertInto('secret_versions')
      .values({
        workspace_id: v.workspaceId,
        path: v.path,
        version: v.version,
        ciphertext: v.ciphertext,
        wrapped_key: v.wrappedKey,
        created_at: v.createdAt,
        created_by: v.createdBy,
        destroyed_at: v.destroyedAt,
      })
      .execute(),
  );
}

export async function getSecretVersion(
  db: Db,
  ws: string,
  path: string,
  version: number,
): Promise<SecretVersionRecord | undefined> {
  const r = await db
    .selectFrom('secret_versions')
    .selectAll()
    .where('workspace_id', '=', ws)
    .where('path', '=', path)
    .where('version', '=', version)
    .executeTakeFirst();
  return r && toVersion(r);
}

export async function listSecretVersions(db: Db, ws: string, paths: string[]): Promise<SecretVersionMeta[]> {
  if (paths.length === 0) return [];
  const rows = await db
    .selectFrom('secret_versions')
    .select(['workspace_id', 'path', 'version', 'created_at', 'created_by', 'destroyed_at'])
    .where('workspace_id', '=', ws)
    .where('path', 'in', paths)
    .orderBy('path')
    .orderBy('version')
    .execute();
  return rows.map((r) => ({
    workspaceId: r.workspace_id,
    path: r.path,
    version: num(r.version),
    createdAt: num(r.created_at),
    createdBy: r.created_by,
    destroyedAt: numOrNull(r.destroyed_at),
  }));
}

export async function deleteSecretVersions(
  db: Db,
  ws: string,
  path: string,
  versions: number[],
): Promise<void> {
  if (versions.length === 0) return;
  await db
    .deleteFrom('secret_versions')
    .where('workspace_id', '=', ws)
    .where('path', '=', path)
    .where('version', 'in', versions)
    .execute();
}

export async function destroySecretVersion(
  db: Db,
  ws: string,
  path: string,
  version: number,
  at: number,
): Promise<boolean> {
  const r = await db
    .updateTable('secret_versions')
    .set({ ciphertext: null, wrapped_key: null, destroyed_at: at })
    .where('workspace_id', '=', ws)
    .where('path', '=', path)
    .where('version', '=', version)
    .where('destroyed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function listSecretsDueForRotation(db: Db, now: number, limit: number): Promise<SecretRecord[]> {
  const rows = await db
    .selectFrom('secrets')
    .selectAll()
    .where('rotation_due_at', '<=', now)
    .where('deleted_at', 'is', null)
    .where('current_version', 'is not', null)
    .where((eb) =>
      eb.or([
        eb('rotation_notified_version', 'is', null),
        eb('rotation_notified_version', '<>', eb.ref('current_version')),
      ]),
    )
    .orderBy('rotation_due_at')
    .limit(limit)
    .execute();
  return rows.map(toSecret);
}

export async function markSecretRotationNotified(
  db: Db,
  ws: string,
  path: string,
  version: number,
): Promise<boolean> {
  const r = await db
    .updateTable('secrets')
    .set({ rotation_notified_version: version })
    .where('workspace_id', '=', ws)
    .where('path', '=', path)
    .where('current_version', '=', version)
    .where((eb) =>
      eb.or([eb('rotation_notified_version', 'is', null), eb('rotation_notified_version', '<>', version)]),
    )
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function countWrappedKeys(db: Db): Promise<number> {
  const r = await db
    .selectFrom('secret_versions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('wrapped_key', 'is not', null)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function scanWrappedKeys(
  db: Db,
  after: VersionPosition | undefined,
  limit: number,
): Promise<WrappedKeyRef[]> {
  let q = db
    .selectFrom('secret_versions')
    .select(['workspace_id', 'path', 'version', 'wrapped_key'])
    .where('wrapped_key', 'is not', null);
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('workspace_id', '>', after.workspaceId),
        eb.and([
          eb('workspace_id', '=', after.workspaceId),
          eb.or([
            eb('path', '>', after.path),
            eb.and([eb('path', '=', after.path), eb('version', '>', after.version)]),
          ]),
        ]),
      ]),
    );
  const rows = await q.orderBy('workspace_id').orderBy('path').orderBy('version').limit(limit).execute();
  return rows.flatMap((r) =>
    r.wrapped_key === null
      ? []
      : [{ workspaceId: r.workspace_id, path: r.path, version: num(r.version), wrappedKey: r.wrapped_key }],
  );
}

export async function updateWrappedKey(db: Db, p: VersionPosition, wrappedKey: string): Promise<void> {
  await db
    .updateTable('secret_versions')
    .set({ wrapped_key: wrappedKey })
    .where('workspace_id', '=', p.workspaceId)
    .where('path', '=', p.path)
    .where('version', '=', p.version)
    .where('wrapped_key', 'is not', null)
    .execute();
}

const CHECK_ID = 'master';

export async function getMasterKeyCheck(db: Db): Promise<string | undefined> {
  const r = await db
    .selectFrom('vault_master_key')
    .select('check_value')
    .where('id', '=', CHECK_ID)
    .executeTakeFirst();
  return r?.check_value;
}

export async function insertMasterKeyCheck(db: Db, check: string, at: number): Promise<boolean> {
  const r = await db
    .insertInto('vault_master_key')
    .values({ id: CHECK_ID, check_value: check, created_at: at, rotated_at: null })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function replaceMasterKeyCheck(db: Db, check: string, at: number): Promise<void> {
  await db
    .updateTable('vault_master_key')
    .set({ check_value: check, rotated_at: at })
    .where('id', '=', CHECK_ID)
    .execute();
}
