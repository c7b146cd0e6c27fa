import type { AuditInput, AuditLog } from '../audit/index.js';
import { KeywardError, notFound } from '../errors/index.js';
import { type CallContext, callerAuditEntry, denied, type SecretAccess } from '../root-keys/index.js';
import type { Store } from '../store/index.js';

export type SecretOperation =
  | 'read'
  | 'write'
  | 'update'
  | 'delete'
  | 'restore'
  | 'destroy'
  | 'confirm'
  | 'list';

/**
 * Access to secrets and the audit of failed attempts. A request that fails rolls its
 * transaction back, so a failure's audit entry is written in a transaction of its own.
 */
export class SecretGuard {
  /** Errors whose audit entry is already written (the denials). */
  private readonly audited = new WeakSet<KeywardError>();

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Read access decides visibility: without it the path does not exist for the caller (404,
   * whether or not it does); with read but not the needed write access, 403.
   */
  async authorize(
    ctx: CallContext,
    operation: SecretOperation,
    path: string,
    access: SecretAccess,
  ): Promise<void> {
    const perms = ctx.principal.permissions;
    if (perms.canSecret(access, path)) return;
    const visible = perms.canSecret('read', path);
    const err = visible ? denied(`secrets.${access}:${path}`) : notFound('secret', path);
    await this.deny(ctx, operation, path, err, `secrets.${access}`);
  }

  /** Audits `err` as `secret.access_denied` and throws it. */
  async deny(
    ctx: CallContext,
    operation: SecretOperation,
    path: string,
    err: KeywardError,
    needed: string,
  ): Promise<never> {
    await this.record(entry(ctx, 'secret.access_denied', path, { operation, needed, status: err.status }));
    this.audited.add(err);
    throw err;
  }

  /** Runs `run`; a KeywardError it throws is audited as `secret.<operation>_failed`, then rethrown. */
  async attempt<T>(
    ctx: CallContext,
    operation: SecretOperation,
    path: string,
    version: number | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof KeywardError && !this.audited.has(err)) {
        await this.record(
          entry(ctx, `secret.${operation}_failed`, path, {
            code: err.code,
            status: err.status,
            ...(version !== undefined ? { version } : {}),
          }),
        );
      }
      throw err;
    }
  }

  /** If even the failure's entry cannot be written, the original error is what the caller needs. */
  private async record(input: AuditInput): Promise<void> {
    try {
      await this.store.transaction((tx) => this.audit.append(tx, input));
    } catch {}
  }
}

/** An audit entry about a secret: the path is the target; `data` never holds a value. */
export function entry(
  ctx: CallContext,
  action: string,
  path: string,
  data: Record<string, unknown>,
): AuditInput {
  return callerAuditEntry(ctx, { type: 'secret', id: path }, action, data);
}
