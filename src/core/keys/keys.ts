import type { AuditInput, AuditLog } from '../audit/index.js';
import type { CacheBus } from '../cache-bus/index.js';
import { type Clock, toIso, toIsoOrNull } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { invalid, KeywardError, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { type CallContext, callerAuditEntry, denied, type KeysPermission } from '../root-keys/index.js';
import type {
  Credits,
  KeyPatch,
  KeyRecord,
  KeyspaceRecord,
  KeyWithCredits,
  PageRequest,
  Store,
  StoreOps,
} from '../store/index.js';
import { generateKey, hashKey, hasValidChecksum } from './key-format.js';
import {
  checkExpiry,
  checkMeta,
  checkRatelimits,
  type KeyInput,
  normalizeRestrictions,
} from './key-input.js';
import { effectiveStatus, type KeyStatus } from './key-view.js';
import type {
  SystemCause,
  SystemDisableOutcome,
  SystemRotation,
  SystemRotationOutcome,
} from './system-change.js';

/** Without a keyspace grace period, a self-rotated key keeps working this long. */
export const SELF_ROTATION_DEFAULT_GRACE_SECONDS = 3600;

export interface CreatedKey {
  record: KeyWithCredits;
  /** The plaintext: returned to the creator once and never stored. */
  key: string;
}

export type CreditsChange =
  | {
      remaining: number;
      refill?: Credits['refill'] | undefined;
      lowThreshold?: number | undefined;
      increment?: undefined;
    }
  | { increment: number; remaining?: undefined; refill?: undefined };

export interface KeyUpdate extends Omit<KeyInput, 'credits'> {
  status?: 'active' | 'disabled' | undefined;
  /** `{ remaining }` sets the balance, `{ increment }` adds to it, null removes credits. */
  credits?: CreditsChange | null | undefined;
}

/** Issues keys and carries out every change to them; each change and its audit entry commit together. */
export class Keys {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  private auditEntry(
    ctx: CallContext,
    action: string,
    targetId: string,
    data: Record<string, unknown>,
  ): AuditInput {
    return callerAuditEntry(ctx, { type: 'key', id: targetId }, action, data);
  }

  /**
   * Records a `key.*` event in the outbox inside the change's transaction, for webhooks: ids,
   * the display `start` and the owner, never key material.
   */
  private async recordKeyEvent(
    tx: StoreOps,
    type: string,
    key: KeyRecord,
    data: Record<string, unknown>,
  ): Promise<void> {
    await tx.recordEvent({
      id: newId('event', this.random),
      workspaceId: key.workspaceId,
      type,
      data: { keyId: key.id, keyspaceId: key.keyspaceId, start: key.start, ownerId: key.ownerId, ...data },
      createdAt: this.clock.now(),
    });
  }

  /** Lookup inside the caller's workspace first (404), then the permission (403). */
  private async load(
    tx: StoreOps,
    ctx: CallContext,
    id: string,
    permission: KeysPermission,
  ): Promise<KeyWithCredits> {
    const key = await tx.getKey(ctx.principal.workspaceId, id);
    if (!key) throw notFound('key', id);
    if (!ctx.principal.permissions.hasFor(permission, key.keyspaceId)) throw denied(permission);
    return key;
  }

  private async loadKeyspace(tx: StoreOps, ctx: CallContext, keyspaceId: string): Promise<KeyspaceRecord> {
    const ks = await tx.getKeyspace(ctx.principal.workspaceId, keyspaceId);
    if (!ks) throw notFound('keyspace', keyspaceId);
    return ks;
  }

  private mint(ks: KeyspaceRecord, input: KeyInput, lineage: { id: string; replaces: string | null } | null) {
    const now = this.clock.now();
    const generated = generateKey(ks.prefix, this.random);
    const id = newId('key', this.random);
    const defaultExpiry =
      ks.defaults.expiresInSeconds !== undefined ? now + ks.defaults.expiresInSeconds * 1000 : null;
    const record: KeyRecord = {
      id,
      workspaceId: ks.workspaceId,
      keyspaceId: ks.id,
      hash: generated.hash,
      start: generated.start,
      name: input.name ?? null,
      ownerId: input.ownerId ?? null,
      meta: checkMeta(input.meta ?? {}),
      scopes: input.scopes ?? ks.defaults.scopes ?? [],
      status: 'active',
      expiresAt: input.expiresAt !== undefined ? input.expiresAt : defaultExpiry,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      ratelimits: checkRatelimits(input.ratelimits ?? ks.defaults.ratelimits ?? []),
      restrictions: normalizeRestrictions(input.restrictions),
      replaces: lineage?.replaces ?? null,
      replacedBy: null,
      lineageId: lineage?.id ?? id,
      revokedAt: null,
      revokeReason: null,
    };
    return { record, key: generated.key };
  }

  async create(ctx: CallContext, keyspaceId: string, input: KeyInput): Promise<CreatedKey> {
    checkExpiry(input.expiresAt, this.clock.now());
    const created = await this.store.transaction(async (tx) => {
      const ks = await this.loadKeyspace(tx, ctx, keyspaceId);
      if (!ctx.principal.permissions.hasFor('keys.create', ks.id)) throw denied('keys.create');
      const { record, key } = this.mint(ks, input, null);
      const threshold = input.credits?.lowThreshold ?? ks.defaults.creditsLowThreshold;
      const credits = input.credits
        ? { ...input.credits, ...(threshold !== undefined ? { lowThreshold: threshold } : {}) }
        : null;
      await tx.insertKey(record, credits);
      await this.audit.append(
        tx,
        this.auditEntry(ctx, 'key.created', record.id, {
          keyspaceId: ks.id,
          start: record.start,
          name: record.name,
          ownerId: record.ownerId,
          scopes: record.scopes,
          expiresAt: toIsoOrNull(record.expiresAt),
        }),
      );
      await this.recordKeyEvent(tx, 'key.created', record, {
        name: record.name,
        scopes: record.scopes,
        expiresAt: toIsoOrNull(record.expiresAt),
      });
      return { record: { ...record, credits }, key };
    });
    await this.bus.publish({ kind: 'key', hash: created.record.hash });
    return created;
  }

  async get(ctx: CallContext, id: string): Promise<KeyWithCredits> {
    return this.load(this.store, ctx, id, 'keys.read');
  }

  async list(
    ctx: CallContext,
    keyspaceId: string,
    filter: {
      ownerId?: string | undefined;
      status?: KeyStatus | undefined;
      expiresBefore?: number | undefined;
      rotationDue?: boolean | undefined;
      replaced?: boolean | undefined;
    },
    page: PageRequest,
  ): Promise<KeyWithCredits[]> {
    const ks = await this.loadKeyspace(this.store, ctx, keyspaceId);
    if (!ctx.principal.permissions.hasFor('keys.read', ks.id)) throw denied('keys.read');
    return this.store.listKeys(
      ctx.principal.workspaceId,
      { keyspaceId, ...filter, now: this.clock.now() },
      page,
    );
  }

  async update(ctx: CallContext, id: string, input: KeyUpdate): Promise<KeyWithCredits> {
    const now = this.clock.now();
    checkExpiry(input.expiresAt, now);
    const updated = await this.store.transaction(async (tx) => {
      const key = await this.load(tx, ctx, id, 'keys.update');
      if (input.status !== undefined && key.status === 'revoked')
        throw new KeywardError('KEY_REVOKED', `Key ${id} is revoked; revocation is final`);
      const patch: KeyPatch = { updatedAt: now };
      if (input.name !== undefined) patch.name = input.name;
      if (input.ownerId !== undefined) patch.ownerId = input.ownerId;
      if (input.meta !== undefined) patch.meta = checkMeta(input.meta);
      if (input.scopes !== undefined) patch.scopes = input.scopes;
      if (input.status !== undefined) patch.status = input.status;
      if (input.expiresAt !== undefined) patch.expiresAt = input.expiresAt;
      if (input.ratelimits !== undefined) patch.ratelimits = checkRatelimits(input.ratelimits);
      if (input.restrictions !== undefined)
        patch.restrictions = normalizeRestrictions({ ...key.restrictions, ...input.restrictions });
      await tx.updateKey(ctx.principal.workspaceId, id, patch);
      let credits = key.credits;
      if (input.credits?.increment !== undefined) {
        // Atomic in the store, so concurrent top-ups and spends never lose one another.
        if (!key.credits)
          throw invalid('/credits/increment', 'needs a key that has credits; set credits.remaining first');
        credits = (await tx.adjustCredits(key.lineageId, input.credits.increment)) ?? null;
      } else if (input.credits !== undefined) {
        credits = nextCredits(key.credits, input.credits);
        await tx.setCredits(key.lineageId, credits, now);
      }
      const changed: Record<string, unknown> = { ...patch };
      delete changed.updatedAt;
      // Times in the audit log are ISO 8601, as everywhere in the API.
      if (patch.expiresAt !== undefined) changed.expiresAt = toIsoOrNull(patch.expiresAt);
      if (input.credits !== undefined) changed.credits = input.credits;
      const action =
        input.status === 'disabled' ? 'key.disabled' : input.status === 'active' ? 'key.enabled' : null;
      await this.audit.append(
        tx,
        this.auditEntry(ctx, 'key.updated', id, { ...changed, ...(action ? { statusChange: action } : {}) }),
      );
      await this.recordKeyEvent(tx, 'key.updated', key, {
        changes: Object.keys(changed),
        status: effectiveStatus({ ...key, ...patch }, now),
      });
      return { ...key, ...patch, credits };
    });
    await this.bus.publish({ kind: 'key', hash: updated.hash });
    return updated;
  }

  async revoke(ctx: CallContext, id: string, reason: string | undefined): Promise<KeyWithCredits> {
    const now = this.clock.now();
    const revoked = await this.store.transaction(async (tx) => {
      const key = await this.load(tx, ctx, id, 'keys.revoke');
      if (key.status === 'revoked') return key;
      const patch: KeyPatch = {
        status: 'revoked',
        revokedAt: now,
        revokeReason: reason ?? null,
        updatedAt: now,
      };
      await tx.updateKey(ctx.principal.workspaceId, id, patch);
      await this.audit.append(tx, this.auditEntry(ctx, 'key.revoked', id, { reason: reason ?? null }));
      await this.recordKeyEvent(tx, 'key.revoked', key, { reason: reason ?? null, revokedAt: toIso(now) });
      return { ...key, ...patch };
    });
    await this.bus.publish({ kind: 'key', hash: revoked.hash });
    return revoked;
  }

  /**
   * Issues a replacement. The old key keeps working until `now + grace` — never past its own
   * expiry: a grace period must never extend a key's lifetime.
   */
  async rotate(
    ctx: CallContext,
    id: string,
    input: { gracePeriodSeconds?: number | undefined; reason?: string | undefined },
  ): Promise<CreatedKey & { old: KeyWithCredits }> {
    const now = this.clock.now();
    const result = await this.store.transaction(async (tx) => {
      const old = await this.load(tx, ctx, id, 'keys.rotate');
      const status = effectiveStatus(old, now);
      if (old.replacedBy !== null)
        throw new KeywardError('KEY_NOT_ROTATABLE', `Key ${id} was already replaced by ${old.replacedBy}`);
      if (status !== 'active')
        throw new KeywardError(
          'KEY_NOT_ROTATABLE',
          `Key ${id} is ${status}; only an active key can be rotated`,
        );
      const ks = await this.loadKeyspace(tx, ctx, old.keyspaceId);
      const replaced = await this.replaceIn(tx, old, ks, {
        graceEnd: now + (input.gracePeriodSeconds ?? 0) * 1000,
        actor: ctx.principal.rootKeyId,
        ip: ctx.ip,
        reason: input.reason ?? null,
        cause: 'manual',
        data: { gracePeriodSeconds: input.gracePeriodSeconds ?? 0 },
      });
      return replaced;
    });
    await this.bus.publish({ kind: 'key', hash: result.old.hash });
    await this.bus.publish({ kind: 'key', hash: result.record.hash });
    return result;
  }

  async delete(ctx: CallContext, id: string): Promise<void> {
    const deleted = await this.store.transaction(async (tx) => {
      const key = await this.load(tx, ctx, id, 'keys.delete');
      await tx.deleteKey(ctx.principal.workspaceId, id);
      await this.audit.append(
        tx,
        this.auditEntry(ctx, 'key.deleted', id, { keyspaceId: key.keyspaceId, start: key.start }),
      );
      await this.recordKeyEvent(tx, 'key.deleted', key, {});
      return key;
    });
    await this.bus.publish({ kind: 'key', hash: deleted.hash });
  }

  /**
   * A rotation Keyward starts itself (an alert's `rotate` action; a leak report with grace 0).
   * Same effect as `rotate`, but no root key is involved: the audit entry names `input.actor`
   * and `input.cause`. The replacement's plaintext is not returned to anyone and never stored —
   * the owner gets a usable key by rotating the replacement (see docs/monitoring.md). With `tx`
   * it joins the caller's transaction, so an alert and its actions commit together; the cache
   * invalidation goes out once that commits.
   */
  async rotateBySystem(
    workspaceId: string,
    id: string,
    input: SystemRotation,
    tx?: StoreOps,
  ): Promise<SystemRotationOutcome> {
    if (!tx) return this.store.transaction((t) => this.rotateBySystem(workspaceId, id, input, t));
    const now = this.clock.now();
    const old = await tx.getKey(workspaceId, id);
    if (!old) return { rotated: false, reason: 'not_found' };
    if (old.replacedBy !== null) return { rotated: false, reason: 'already_replaced' };
    const status = effectiveStatus(old, now);
    if (status !== 'active') return { rotated: false, reason: status };
    const ks = await tx.getKeyspace(workspaceId, old.keyspaceId);
    if (!ks) return { rotated: false, reason: 'not_found' };
    const grace = input.gracePeriodSeconds ?? ks.rotation.gracePeriodSeconds ?? 0;
    const { record, old: updatedOld } = await this.replaceIn(tx, old, ks, {
      graceEnd: now + grace * 1000,
      actor: input.actor,
      ip: null,
      reason: input.reason,
      cause: input.cause,
      data: { ...input.data, gracePeriodSeconds: grace },
    });
    tx.afterCommit(() => {
      this.publishQuietly(old.hash);
      this.publishQuietly(record.hash);
    });
    const oldExpiry = updatedOld.expiresAt ?? now;
    return { rotated: true, newKeyId: record.id, gracePeriodSeconds: grace, oldKeyExpiresAt: oldExpiry };
  }

  /** Disables a key on Keyward's own initiative (an alert's `disable` action); see `rotateBySystem`. */
  async disableBySystem(
    workspaceId: string,
    id: string,
    input: SystemCause,
    tx?: StoreOps,
  ): Promise<SystemDisableOutcome> {
    if (!tx) return this.store.transaction((t) => this.disableBySystem(workspaceId, id, input, t));
    const now = this.clock.now();
    const key = await tx.getKey(workspaceId, id);
    if (!key) return { disabled: false, reason: 'not_found' };
    const status = effectiveStatus(key, now);
    if (status !== 'active') return { disabled: false, reason: status };
    await tx.updateKey(workspaceId, id, { status: 'disabled', updatedAt: now });
    await this.audit.append(tx, {
      workspaceId,
      actor: input.actor,
      ip: null,
      action: 'key.updated',
      targetType: 'key',
      targetId: id,
      data: {
        ...input.data,
        status: 'disabled',
        statusChange: 'key.disabled',
        reason: input.reason,
        cause: input.cause,
      },
    });
    await this.recordKeyEvent(tx, 'key.updated', key, {
      changes: ['status'],
      status: 'disabled',
      reason: input.reason,
      cause: input.cause,
    });
    tx.afterCommit(() => this.publishQuietly(key.hash));
    return { disabled: true };
  }

  /**
   * The one rotation step, whoever starts it (a root key, an alert, the consumer itself): mint
   * the replacement in the old key's lineage (shared credits and rate-limit counters), link both
   * ways, end the old key at `graceEnd` — never later than its own expiry: a grace period must
   * never extend a key's lifetime — and record the audit entry (with its cause) and the
   * `key.rotated` event in the caller's transaction.
   */
  private async replaceIn(
    tx: StoreOps,
    old: KeyWithCredits,
    ks: KeyspaceRecord,
    how: {
      graceEnd: number;
      actor: string;
      ip: string | null;
      reason: string | null;
      cause: string;
      data?: Record<string, unknown> | undefined;
    },
  ): Promise<CreatedKey & { old: KeyWithCredits }> {
    const now = this.clock.now();
    const oldExpiry = old.expiresAt === null ? how.graceEnd : Math.min(old.expiresAt, how.graceEnd);
    const { record, key } = this.mint(
      ks,
      {
        name: old.name,
        ownerId: old.ownerId,
        meta: old.meta,
        scopes: old.scopes,
        ratelimits: old.ratelimits,
        restrictions: old.restrictions,
      },
      { id: old.lineageId, replaces: old.id },
    );
    await tx.insertKey(record, null);
    const patch: KeyPatch = { replacedBy: record.id, expiresAt: oldExpiry, updatedAt: now };
    await tx.updateKey(old.workspaceId, old.id, patch);
    await this.audit.append(tx, {
      workspaceId: old.workspaceId,
      actor: how.actor,
      ip: how.ip,
      action: 'key.rotated',
      targetType: 'key',
      targetId: old.id,
      data: {
        ...how.data,
        newKeyId: record.id,
        start: record.start,
        oldKeyExpiresAt: toIso(oldExpiry),
        reason: how.reason,
        cause: how.cause,
      },
    });
    await this.recordKeyEvent(tx, 'key.rotated', old, {
      ...how.data,
      newKeyId: record.id,
      newKeyStart: record.start,
      oldKeyExpiresAt: toIso(oldExpiry),
      reason: how.reason,
      cause: how.cause,
    });
    return { record: { ...record, credits: old.credits }, key, old: { ...old, ...patch } };
  }

  /**
   * `POST /v1/self/rotate`: the consumer, authenticated by the key itself, picks up its
   * replacement without a human. Where the keyspace allows it, the old key keeps working for the
   * keyspace's grace period (default one hour here, so a reply lost in transit does not lock the
   * consumer out) — for a key already due, no longer than its scheduled grace end. A second call
   * during the grace period answers 409: the plaintext was never stored, so it cannot be shown
   * again (docs/rotation.md says what a consumer that lost it does).
   */
  async selfRotate(presentedKey: string, ip: string | null): Promise<CreatedKey & { old: KeyWithCredits }> {
    const unknown = () =>
      new KeywardError('UNAUTHORIZED', 'A valid API key is required in the Authorization header');
    if (!hasValidChecksum(presentedKey)) throw unknown();
    const hash = hashKey(presentedKey);
    const now = this.clock.now();
    const result = await this.store.transaction(async (tx) => {
      const found = await tx.getKeyByHash(hash);
      if (!found) throw unknown();
      const old = await tx.getKey(found.workspaceId, found.id);
      if (!old || effectiveStatus(old, now) === 'revoked' || effectiveStatus(old, now) === 'disabled')
        throw unknown();
      const ks = await tx.getKeyspace(old.workspaceId, old.keyspaceId);
      if (!ks?.rotation.selfRotation)
        throw new KeywardError('PERMISSION_DENIED', 'This keyspace does not allow keys to rotate themselves');
      if (old.replacedBy !== null)
        throw new KeywardError(
          'KEY_ALREADY_REPLACED',
          'A replacement was already issued for this key; it is shown only once. Ask the key owner for a new key if it was lost',
        );
      if (effectiveStatus(old, now) === 'expired') throw unknown();
      const grace = (ks.rotation.gracePeriodSeconds ?? SELF_ROTATION_DEFAULT_GRACE_SECONDS) * 1000;
      const due = await tx.getRotationDue(old.id);
      // A due key's grace period ends at min(due + grace, now + grace).
      const graceEnd = due ? Math.min(due.graceEndsAt, now + grace) : now + grace;
      return this.replaceIn(tx, old, ks, {
        graceEnd,
        actor: `key:${old.id}`,
        ip,
        reason: null,
        cause: 'self',
        data: { gracePeriodSeconds: Math.round((graceEnd - now) / 1000) },
      });
    });
    await this.bus.publish({ kind: 'key', hash: result.old.hash });
    await this.bus.publish({ kind: 'key', hash: result.record.hash });
    return result;
  }

  /** After-commit invalidation: the change is durable whatever the bus does; it reports its own failures. */
  private publishQuietly(hash: string): void {
    this.bus.publish({ kind: 'key', hash }).catch(() => undefined);
  }
}

function nextCredits(current: Credits | null, change: CreditsChange | null): Credits | null {
  if (change === null) return null;
  if (change.increment !== undefined) {
    if (!current)
      throw invalid('/credits/increment', 'needs a key that has credits; set credits.remaining first');
    return { ...current, remaining: Math.max(0, current.remaining + change.increment) };
  }
  const lowThreshold = change.lowThreshold ?? current?.lowThreshold;
  return {
    remaining: change.remaining,
    refill: change.refill !== undefined ? change.refill : (current?.refill ?? null),
    ...(lowThreshold !== undefined ? { lowThreshold } : {}),
  };
}
