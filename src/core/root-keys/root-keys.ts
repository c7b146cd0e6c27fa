import type { AuditLog } from '../audit/index.js';
import type { CacheBus } from '../cache-bus/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { KeywardError, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { generateKey, hashKey, hasValidChecksum } from '../keys/key-format.js';
import type { PageRequest, RootKeyRecord, Store, StoreOps } from '../store/index.js';
import { TtlCache } from '../verification/ttl-cache.js';
import { isValidPermission, PermissionSet } from './permissions.js';
import type { CallContext, Principal } from './principal.js';

/** Root keys are Keyward keys with their own prefix, so the scanner and the checksum apply to them too. */
export const ROOT_KEY_PREFIX = 'kw_root';
// Unknown root keys are remembered only briefly: a key created offline must work within a second.
const NEGATIVE_TTL_MS = 500;
const POSITIVE_TTL_MS = 30_000;

export interface CreatedRootKey {
  record: RootKeyRecord;
  key: string;
}

export class RootKeys {
  private readonly cache: TtlCache<Principal | null>;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {
    this.cache = new TtlCache(10_000, clock);
    bus.subscribe((m) => {
      if (m.kind === 'root_key') this.cache.delete(m.hash);
    });
    bus.onHealthChange(() => this.cache.clear());
  }

  /**
   * The cache-only half of `authenticate`, synchronous so the hot path needs no promise: the
   * principal when the token is a cached valid root key, null when it is known to be invalid,
   * undefined when only the store can tell.
   */
  authenticateCached(token: string | undefined): Principal | null | undefined {
    return token ? this.cached(hashKey(token)) : null;
  }

  private cached(hash: string): Principal | null | undefined {
    // Without a live bus a revocation on another node could go unheard: read the store.
    return this.bus.healthy ? this.cache.get(hash) : undefined;
  }

  /** Resolves a bearer token to a principal; every failure is the same 401. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw unauthorized();
    const hash = hashKey(token);
    const cached = this.cached(hash);
    if (cached) return cached;
    if (cached === null || !hasValidChecksum(token)) throw unauthorized();
    const ticket = this.cache.ticket();
    const rk = await this.store.getRootKeyByHash(hash);
    const principal =
      rk && rk.revokedAt === null
        ? { workspaceId: rk.workspaceId, rootKeyId: rk.id, permissions: new PermissionSet(rk.permissions) }
        : null;
    this.cache.fill(hash, principal, principal ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS, ticket);
    if (!principal) throw unauthorized();
    return principal;
  }

  /**
   * Creates a root key inside an existing transaction. `actor` is the creating root key's id,
   * `system` at bootstrap, or `cli` offline.
   */
  async createIn(
    tx: StoreOps,
    input: {
      workspaceId: string;
      name: string | null;
      permissions: string[];
      actor: string;
      ip: string | null;
    },
  ): Promise<CreatedRootKey> {
    const permissions = [...new Set(input.permissions)];
    for (const p of permissions) {
      if (!isValidPermission(p))
        throw new KeywardError('VALIDATION_FAILED', `"${p.slice(0, 80)}" is not a permission`, [
          { path: '/permissions', message: `"${p.slice(0, 80)}" is not a permission` },
        ]);
    }
    if (permissions.length === 0)
      throw new KeywardError('VALIDATION_FAILED', 'permissions must not be empty', [
        { path: '/permissions', message: 'must not be empty' },
      ]);
    const generated = generateKey(ROOT_KEY_PREFIX, this.random);
    const record: RootKeyRecord = {
      id: newId('rootKey', this.random),
      workspaceId: input.workspaceId,
      name: input.name,
      hash: generated.hash,
      start: generated.start,
      permissions,
      createdAt: this.clock.now(),
      revokedAt: null,
    };
    await tx.insertRootKey(record);
    await this.audit.append(tx, {
      workspaceId: input.workspaceId,
      actor: input.actor,
      ip: input.ip,
      action: 'root_key.created',
      targetType: 'root_key',
      targetId: record.id,
      data: { name: record.name, permissions, start: record.start },
    });
    return { record, key: generated.key };
  }

  async create(
    ctx: CallContext,
    input: { name?: string | undefined; permissions: string[] },
  ): Promise<CreatedRootKey> {
    const { principal } = ctx;
    if (!principal.permissions.has('root_keys.write')) throw denied('root_keys.write');
    for (const p of input.permissions) {
      if (isValidPermission(p) && !principal.permissions.covers(p))
        throw new KeywardError(
          'PERMISSION_DENIED',
          `A root key can only grant permissions it holds; it lacks ${p}`,
        );
    }
    const created = await this.store.transaction((tx) =>
      this.createIn(tx, {
        workspaceId: principal.workspaceId,
        name: input.name ?? null,
        permissions: input.permissions,
        actor: principal.rootKeyId,
        ip: ctx.ip,
      }),
    );
    await this.bus.publish({ kind: 'root_key', hash: created.record.hash });
    return created;
  }

  async list(ctx: CallContext, page: PageRequest): Promise<RootKeyRecord[]> {
    if (!ctx.principal.permissions.has('root_keys.write')) throw denied('root_keys.write');
    return this.store.listRootKeys(ctx.principal.workspaceId, page);
  }

  async revoke(ctx: CallContext, id: string): Promise<RootKeyRecord> {
    const { principal } = ctx;
    const revoked = await this.store.transaction(async (tx) => {
      const rk = await tx.getRootKey(principal.workspaceId, id);
      if (!rk) throw notFound('root key', id);
      if (!principal.permissions.has('root_keys.write')) throw denied('root_keys.write');
      // As with granting: a key may not take away access it does not have itself, or a narrow
      // root_keys.write key could lock every stronger key (the bootstrap `*` one) out.
      const lacking = rk.permissions.find((p) => !principal.permissions.covers(p));
      if (lacking !== undefined)
        throw new KeywardError(
          'PERMISSION_DENIED',
          `A root key can only revoke root keys whose permissions it holds; it lacks ${lacking}`,
        );
      if (rk.revokedAt !== null) return rk;
      const at = this.clock.now();
      await tx.revokeRootKey(principal.workspaceId, id, at);
      await this.audit.append(tx, {
        workspaceId: principal.workspaceId,
        actor: principal.rootKeyId,
        ip: ctx.ip,
        action: 'root_key.revoked',
        targetType: 'root_key',
        targetId: id,
        data: {},
      });
      return { ...rk, revokedAt: at };
    });
    await this.bus.publish({ kind: 'root_key', hash: revoked.hash });
    return revoked;
  }
}

// Built only when thrown: an Error captures a stack trace, which costs on a hot path.
function unauthorized(): KeywardError {
  return new KeywardError('UNAUTHORIZED', 'A valid root key is required in the Authorization header');
}

export function denied(permission: string): KeywardError {
  return new KeywardError('PERMISSION_DENIED', `The root key lacks the permission ${permission}`);
}
