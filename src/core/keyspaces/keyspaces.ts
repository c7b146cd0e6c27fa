import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { KeywardError, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { DEFAULT_PREFIX } from '../keys/key-format.js';
import { type CallContext, denied } from '../root-keys/index.js';
import {
  type KeyspaceDefaults,
  type KeyspaceRecord,
  type PageRequest,
  type RotationPolicy,
  type Store,
  UniqueViolation,
} from '../store/index.js';

export interface KeyspaceInput {
  name: string;
  prefix?: string | undefined;
  defaults?: KeyspaceDefaults | undefined;
  rotation?: RotationPolicy | undefined;
}

export type KeyspaceUpdate = Partial<KeyspaceInput>;

function nameTaken(name: string): KeywardError {
  return new KeywardError(
    'KEYSPACE_NAME_TAKEN',
    `A keyspace named "${name}" already exists in this workspace`,
  );
}

export class Keyspaces {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  async create(ctx: CallContext, input: KeyspaceInput): Promise<KeyspaceRecord> {
    const { principal } = ctx;
    if (!principal.permissions.has('keyspaces.write')) throw denied('keyspaces.write');
    const now = this.clock.now();
    const ks: KeyspaceRecord = {
      id: newId('keyspace', this.random),
      workspaceId: principal.workspaceId,
      name: input.name,
      prefix: input.prefix ?? DEFAULT_PREFIX,
      defaults: input.defaults ?? {},
      rotation: input.rotation ?? {},
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.transaction(async (tx) => {
        if (await tx.getKeyspaceByName(principal.workspaceId, input.name)) throw nameTaken(input.name);
        await tx.insertKeyspace(ks);
        await this.audit.append(tx, {
          workspaceId: principal.workspaceId,
          actor: principal.rootKeyId,
          ip: ctx.ip,
          action: 'keyspace.created',
          targetType: 'keyspace',
          targetId: ks.id,
          data: { name: ks.name, prefix: ks.prefix, defaults: ks.defaults, rotation: ks.rotation },
        });
      });
    } catch (err) {
      if (err instanceof UniqueViolation) throw nameTaken(input.name);
      throw err;
    }
    return ks;
  }

  /** Looks a keyspace up in the caller's workspace: 404 before 403, so ids of other tenants reveal nothing. */
  async get(ctx: CallContext, id: string): Promise<KeyspaceRecord> {
    const ks = await this.store.getKeyspace(ctx.principal.workspaceId, id);
    if (!ks) throw notFound('keyspace', id);
    if (!ctx.principal.permissions.has('keyspaces.read')) throw denied('keyspaces.read');
    return ks;
  }

  async list(ctx: CallContext, page: PageRequest): Promise<KeyspaceRecord[]> {
    if (!ctx.principal.permissions.has('keyspaces.read')) throw denied('keyspaces.read');
    return this.store.listKeyspaces(ctx.principal.workspaceId, page);
  }

  async update(ctx: CallContext, id: string, input: KeyspaceUpdate): Promise<KeyspaceRecord> {
    const { principal } = ctx;
    try {
      return await this.store.transaction(async (tx) => {
        const ks = await tx.getKeyspace(principal.workspaceId, id);
        if (!ks) throw notFound('keyspace', id);
        if (!principal.permissions.has('keyspaces.write')) throw denied('keyspaces.write');
        if (input.name !== undefined && input.name !== ks.name) {
          if (await tx.getKeyspaceByName(principal.workspaceId, input.name)) throw nameTaken(input.name);
        }
        const updated: KeyspaceRecord = {
          ...ks,
          name: input.name ?? ks.name,
          prefix: input.prefix ?? ks.prefix,
          defaults: input.defaults ?? ks.defaults,
          rotation: input.rotation ?? ks.rotation,
          updatedAt: this.clock.now(),
        };
        await tx.updateKeyspace(principal.workspaceId, id, updated);
        await this.audit.append(tx, {
          workspaceId: principal.workspaceId,
          actor: principal.rootKeyId,
          ip: ctx.ip,
          action: 'keyspace.updated',
          targetType: 'keyspace',
          targetId: id,
          data: { ...input },
        });
        return updated;
      });
    } catch (err) {
      if (err instanceof UniqueViolation) throw nameTaken(input.name ?? '');
      throw err;
    }
  }

  /** Deleting a keyspace that still has keys is refused: keys are deleted (or revoked) on purpose, one by one or in bulk. */
  async delete(ctx: CallContext, id: string): Promise<void> {
    const { principal } = ctx;
    await this.store.transaction(async (tx) => {
      const ks = await tx.getKeyspace(principal.workspaceId, id);
      if (!ks) throw notFound('keyspace', id);
      if (!principal.permissions.has('keyspaces.write')) throw denied('keyspaces.write');
      const count = await tx.countKeys(principal.workspaceId, id);
      if (count > 0)
        throw new KeywardError(
          'KEYSPACE_NOT_EMPTY',
          `Keyspace ${id} still has ${count} key(s); delete them first`,
        );
      await tx.deleteKeyspace(principal.workspaceId, id);
      await this.audit.append(tx, {
        workspaceId: principal.workspaceId,
        actor: principal.rootKeyId,
        ip: ctx.ip,
        action: 'keyspace.deleted',
        targetType: 'keyspace',
        targetId: id,
        data: { name: ks.name },
      });
    });
  }
}
