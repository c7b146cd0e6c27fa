import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { KeywardError, notFound } from '../errors/index.js';
import { checkMeta } from '../keys/index.js';
import { type CallContext, denied } from '../root-keys/index.js';
import {
  type SecretRecord,
  type SecretRotation,
  type Store,
  type StoreOps,
  UniqueViolation,
} from '../store/index.js';
import { type MasterKey, sealVersion } from './envelope.js';
import {
  type CreatedRotationWebhook,
  checkRotationWebhook,
  syncRotationWebhook,
} from './rotation-webhook.js';
import { entry, SecretGuard, type SecretOperation } from './secret-guard.js';
import {
  checkRotation,
  MAX_SECRET_BYTES,
  type SecretChange,
  type SecretSummary,
  type SecretValue,
  type SecretWrite,
  type VaultOptions,
  type WrittenSecret,
} from './secret-input.js';
import {
  labelsAfterPromotion,
  labelsAfterWrite,
  labelsOf,
  rotationDueAt,
  type SecretLabel,
  versionOfLabel,
  versionsToPrune,
} from './secret-labels.js';
import { parseSecretPath } from './secret-path.js';
import { unseal } from './unseal.js';
import type { WebhookSecretBox } from './webhook-secrets.js';

const WRITE_RETRIES = 3;

/**
 * The vault: secrets under paths, each version sealed under its own data key (envelope.ts).
 * Every read, every change and every failed attempt is an audit entry naming the path and
 * version — never the value. Access follows `secrets.read:<glob>` / `secrets.write:<glob>`:
 * a path the caller may not read does not exist for it (404), one it may read but not write
 * answers 403 to writes.
 */
export class Vault {
  private readonly guard: SecretGuard;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly master: MasterKey,
    private readonly box: WebhookSecretBox,
    private readonly options: VaultOptions,
  ) {
    this.guard = new SecretGuard(store, audit);
  }

  async put(ctx: CallContext, rawPath: string, input: SecretWrite): Promise<WrittenSecret> {
    const path = parseSecretPath(rawPath);
    return this.guard.attempt(ctx, 'write', path, undefined, async () => {
      await this.guard.authorize(ctx, 'write', path, 'write');
      const bytes = Buffer.byteLength(input.value, 'utf8');
      if (bytes > MAX_SECRET_BYTES)
        throw new KeywardError(
          'SECRET_TOO_LARGE',
          `The value is ${bytes} bytes; a secret holds at most ${MAX_SECRET_BYTES} bytes`,
        );
      const meta = input.meta === undefined ? undefined : checkMeta(input.meta);
      checkRotation(input.rotation);
      await this.checkWebhook(input.rotation);
      // Without check-and-set, losing a race to a concurrent writer just means writing the next version.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.store.transaction((tx) => this.write(tx, ctx, path, input, meta));
        } catch (err) {
          const lostRace =
            err instanceof UniqueViolation || (err as { raced?: boolean } | null)?.raced === true;
          if (!lostRace) throw err;
          if (input.expectedVersion !== undefined || attempt >= WRITE_RETRIES)
            throw new KeywardError(
              'SECRET_VERSION_MISMATCH',
              `Another write to secret ${path} happened at the same time; read it and retry`,
            );
        }
      }
    });
  }

  private async write(
    tx: StoreOps,
    ctx: CallContext,
    path: string,
    input: SecretWrite,
    meta: Record<string, unknown> | undefined,
  ): Promise<WrittenSecret> {
    const ws = ctx.principal.workspaceId;
    const now = this.clock.now();
    // Touch the row first: on PostgreSQL the UPDATE takes its lock, so concurrent writers of one
    // secret queue here and each reads the version the previous one committed (SQLite has one
    // writer anyway). Only the very first writes of a new path can still race, on the insert.
    await tx.updateSecret(ws, path, { updatedAt: now });
    const existing = await tx.getSecret(ws, path);
    const latest = existing?.latestVersion ?? 0;
    if (input.expectedVersion !== undefined && input.expectedVersion !== latest)
      throw new KeywardError(
        'SECRET_VERSION_MISMATCH',
        `Secret ${path} is at version ${latest}, not the expected version ${input.expectedVersion}`,
      );
    const version = latest + 1;
    const sealed = sealVersion(this.master, { workspaceId: ws, path, version }, input.value, this.random);
    const labels = labelsAfterWrite(existing, version, input.pending === true, now);
    const rotation = input.rotation !== undefined ? input.rotation : (existing?.rotation ?? null);
    const due = rotationDueAt(rotation, labels.currentSince);
    if (!existing) {
      await tx.insertSecret({
        workspaceId: ws,
        path,
        meta: meta ?? {},
        rotation,
        latestVersion: version,
        ...labels,
        rotationDueAt: due,
        rotationNotifiedVersion: null,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      });
    } else {
      const patch = {
        ...labels,
        rotation,
        rotationDueAt: due,
        latestVersion: version,
        deletedAt: null,
        updatedAt: now,
      };
      const changed = await tx.updateSecret(ws, path, meta ? { ...patch, meta } : patch, {
        latestVersion: latest,
      });
      if (!changed) throw Object.assign(new Error('concurrent write'), { raced: true });
    }
    await tx.insertSecretVersion({
      workspaceId: ws,
      path,
      version,
      ...sealed,
      createdAt: now,
      createdBy: ctx.principal.rootKeyId,
      destroyedAt: null,
    });
    const pruned = versionsToPrune(await tx.listSecretVersions(ws, [path]), labels, this.options.maxVersions);
    await tx.deleteSecretVersions(ws, path, pruned);
    const rotationWebhook =
      input.rotation === undefined ? undefined : await this.syncWebhook(tx, ctx, path, rotation, now);
    const written = labelsOf(labels, version);
    await this.audit.append(
      tx,
      entry(ctx, 'secret.written', path, {
        version,
        labels: written,
        expectedVersion: input.expectedVersion ?? null,
        restored: existing?.deletedAt != null,
        ...(input.rotation !== undefined ? { rotation: input.rotation } : {}),
        ...(meta ? { meta } : {}),
        pruned,
      }),
    );
    return {
      path,
      version,
      createdAt: now,
      labels: written,
      ...(rotationWebhook ? { rotationWebhook } : {}),
    };
  }

  /** The current version, or the one given by number or label. */
  async get(
    ctx: CallContext,
    rawPath: string,
    select: { version?: number | undefined; label?: SecretLabel | undefined } = {},
  ): Promise<SecretValue> {
    const path = parseSecretPath(rawPath);
    return this.guard.attempt(ctx, 'read', path, select.version, async () => {
      await this.guard.authorize(ctx, 'read', path, 'read');
      return this.store.transaction(async (tx) => {
        const secret = await this.live(tx, ctx, path);
        const label = select.version === undefined ? (select.label ?? 'current') : undefined;
        const version = label ? versionOfLabel(secret, label) : (select.version ?? null);
        if (version === null) throw new KeywardError('NOT_FOUND', `Secret ${path} has no ${label} version`);
        const stored = await tx.getSecretVersion(ctx.principal.workspaceId, path, version);
        if (!stored)
          throw new KeywardError('NOT_FOUND', `Version ${version} of secret ${path} does not exist`);
        if (stored.ciphertext === null || stored.wrappedKey === null)
          throw new KeywardError('NOT_FOUND', `Version ${version} of secret ${path} was destroyed`);
        const ref = { workspaceId: ctx.principal.workspaceId, path, version };
        const value = await unseal(tx, this.master, ref, {
          ciphertext: stored.ciphertext,
          wrappedKey: stored.wrappedKey,
        });
        const labels = labelsOf(secret, version);
        // Committed before the value is handed out: no read goes unaudited.
        await this.audit.append(tx, entry(ctx, 'secret.read', path, { version, labels }));
        return { path, version, value, createdAt: stored.createdAt, labels, meta: secret.meta };
      });
    });
  }

  /** Changes meta or the rotation policy without writing a version. */
  async update(ctx: CallContext, rawPath: string, change: SecretChange): Promise<SecretSummary> {
    const path = parseSecretPath(rawPath);
    const meta = change.meta === undefined ? undefined : checkMeta(change.meta);
    checkRotation(change.rotation);
    await this.checkWebhook(change.rotation);
    let rotationWebhook: CreatedRotationWebhook | undefined;
    const summary = await this.change(ctx, 'update', path, async (tx, secret, now) => {
      const rotation = change.rotation !== undefined ? change.rotation : secret.rotation;
      await tx.updateSecret(ctx.principal.workspaceId, path, {
        ...(meta ? { meta } : {}),
        rotation,
        rotationDueAt: rotationDueAt(rotation, secret.currentSince),
        updatedAt: now,
      });
      if (change.rotation !== undefined)
        rotationWebhook = await this.syncWebhook(tx, ctx, path, rotation, now);
      return { action: 'secret.updated', data: { ...(meta ? { meta } : {}), rotation } };
    });
    return rotationWebhook ? { ...summary, rotationWebhook } : summary;
  }

  private checkWebhook(rotation: SecretRotation | null | undefined): Promise<void> {
    return checkRotationWebhook(rotation, {
      denyPrivate: this.options.denyPrivateWebhooks === true,
      resolve: this.options.resolveHost,
    });
  }

  private syncWebhook(
    tx: StoreOps,
    ctx: CallContext,
    path: string,
    rotation: SecretRotation | null,
    now: number,
  ): Promise<CreatedRotationWebhook | undefined> {
    return syncRotationWebhook(tx, this.audit, ctx, path, rotation, {
      box: this.box,
      random: this.random,
      now,
    });
  }

  /** Soft delete: the secret disappears from reads and listings until restored or written again. */
  async delete(ctx: CallContext, rawPath: string): Promise<void> {
    const path = parseSecretPath(rawPath);
    await this.change(ctx, 'delete', path, async (tx, secret, now) => {
      await tx.updateSecret(ctx.principal.workspaceId, path, { deletedAt: now, updatedAt: now });
      return { action: 'secret.deleted', data: { latestVersion: secret.latestVersion } };
    });
  }

  async restore(ctx: CallContext, rawPath: string): Promise<SecretSummary> {
    const path = parseSecretPath(rawPath);
    return this.change(
      ctx,
      'restore',
      path,
      async (tx, secret, now) => {
        if (secret.deletedAt === null) return null;
        await tx.updateSecret(ctx.principal.workspaceId, path, { deletedAt: null, updatedAt: now });
        return { action: 'secret.restored', data: { latestVersion: secret.latestVersion } };
      },
      { deleted: true },
    );
  }

  /** Erases versions for good (their ciphertext and data key); their numbers stay taken. */
  async destroy(ctx: CallContext, rawPath: string, versions: number[]): Promise<SecretSummary> {
    const path = parseSecretPath(rawPath);
    return this.change(
      ctx,
      'destroy',
      path,
      async (tx, _secret, now) => {
        const destroyed: number[] = [];
        for (const version of [...new Set(versions)]) {
          const stored = await tx.getSecretVersion(ctx.principal.workspaceId, path, version);
          if (!stored)
            throw new KeywardError('NOT_FOUND', `Version ${version} of secret ${path} does not exist`);
          if (await tx.destroySecretVersion(ctx.principal.workspaceId, path, version, now))
            destroyed.push(version);
        }
        return destroyed.length === 0 ? null : { action: 'secret.destroyed', data: { versions: destroyed } };
      },
      { deleted: true },
    );
  }

  /**
   * Makes `version` current (the last step of a rotation, or a rollback); the old current
   * becomes `previous`, and a confirmed pending version stops being pending.
   */
  async confirm(ctx: CallContext, rawPath: string, version: number): Promise<SecretSummary> {
    const path = parseSecretPath(rawPath);
    return this.change(ctx, 'confirm', path, async (tx, secret, now) => {
      const stored = await tx.getSecretVersion(ctx.principal.workspaceId, path, version);
      if (!stored) throw new KeywardError('NOT_FOUND', `Version ${version} of secret ${path} does not exist`);
      if (stored.destroyedAt !== null)
        throw new KeywardError(
          'CONFLICT',
          `Version ${version} of secret ${path} was destroyed; it cannot become current`,
        );
      if (secret.currentVersion === version) return null;
      const labels = labelsAfterPromotion(secret, version, now);
      await tx.updateSecret(ctx.principal.workspaceId, path, {
        ...labels,
        rotationDueAt: rotationDueAt(secret.rotation, labels.currentSince),
        updatedAt: now,
      });
      return {
        action: 'secret.confirmed',
        data: {
          version,
          previousVersion: secret.currentVersion,
          wasPending: secret.pendingVersion === version,
        },
      };
    });
  }

  /**
   * Secrets under `prefix` that the caller may read, newest first, with their versions —
   * never values. `limit` rows at most; `after` is the position of the last row already seen.
   */
  async list(
    ctx: CallContext,
    filter: {
      prefix?: string | undefined;
      deleted: boolean;
      limit: number;
      after?: { createdAt: number; path: string } | undefined;
    },
  ): Promise<SecretSummary[]> {
    const prefix =
      filter.prefix === undefined ? undefined : parseSecretPath(filter.prefix, 'querystring:/prefix');
    return this.guard.attempt(ctx, 'list', prefix ?? '*', undefined, async () => {
      const perms = ctx.principal.permissions;
      if (!perms.hasAnySecret('read'))
        await this.guard.deny(ctx, 'list', prefix ?? '*', denied('secrets.read:<glob>'), 'secrets.read');
      const ws = ctx.principal.workspaceId;
      const batch = Math.max(filter.limit, 100);
      const found: SecretRecord[] = [];
      let after = filter.after;
      // Rows the caller may not read are skipped, so one page may take several store reads.
      for (;;) {
        const rows = await this.store.listSecrets(ws, {
          prefix,
          deleted: filter.deleted,
          after,
          limit: batch,
        });
        for (const row of rows) {
          if (found.length < filter.limit && perms.canSecret('read', row.path)) found.push(row);
        }
        const last = rows[rows.length - 1];
        if (found.length >= filter.limit || rows.length < batch || !last) break;
        after = { createdAt: last.createdAt, path: last.path };
      }
      return this.summaries(this.store, ws, found);
    });
  }

  private async summaries(db: StoreOps, ws: string, secrets: SecretRecord[]): Promise<SecretSummary[]> {
    const versions = await db.listSecretVersions(
      ws,
      secrets.map((s) => s.path),
    );
    return secrets.map((secret) => ({ secret, versions: versions.filter((v) => v.path === secret.path) }));
  }

  /**
   * A change to an existing secret and its audit entry, in one transaction. `apply` returns
   * null when there is nothing to change (no entry then).
   */
  private async change(
    ctx: CallContext,
    operation: SecretOperation,
    path: string,
    apply: (
      tx: StoreOps,
      secret: SecretRecord,
      now: number,
    ) => Promise<{ action: string; data: Record<string, unknown> } | null>,
    opts: { deleted?: boolean } = {},
  ): Promise<SecretSummary> {
    return this.guard.attempt(ctx, operation, path, undefined, async () => {
      await this.guard.authorize(ctx, operation, path, 'write');
      return this.store.transaction(async (tx) => {
        const secret = opts.deleted
          ? await tx.getSecret(ctx.principal.workspaceId, path)
          : await this.live(tx, ctx, path);
        if (!secret) throw notFound('secret', path);
        const done = await apply(tx, secret, this.clock.now());
        if (done) await this.audit.append(tx, entry(ctx, done.action, path, done.data));
        const after = (await tx.getSecret(ctx.principal.workspaceId, path)) ?? secret;
        const [summary] = await this.summaries(tx, ctx.principal.workspaceId, [after]);
        return summary ?? { secret: after, versions: [] };
      });
    });
  }

  /** The secret unless it is absent or soft-deleted (both 404). */
  private async live(tx: StoreOps, ctx: CallContext, path: string): Promise<SecretRecord> {
    const secret = await tx.getSecret(ctx.principal.workspaceId, path);
    if (!secret || secret.deletedAt !== null) throw notFound('secret', path);
    return secret;
  }
}
