import type { Clock } from '../clock/index.js';
import { sha256Hex } from '../crypto/index.js';
import { type CallContext, denied } from '../root-keys/index.js';
import { type AuditRecord, GENESIS_HASH, type Store, type StoreOps } from '../store/index.js';
import { canonicalJson } from './canonical-json.js';

export interface AuditInput {
  workspaceId: string;
  /** `rk_…` for a root key, `system` for the server itself, `cli` for offline commands. */
  actor: string;
  ip: string | null;
  action: string;
  targetType: string;
  targetId: string;
  /** What changed. Never key material or secret values. */
  data: Record<string, unknown>;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  firstBadSeq: number | null;
}

/** `hash = sha256(prevHash + canonical entry)`: editing or deleting any entry breaks the chain from there on. */
export function entryHash(e: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { prevHash, hash: _stored, ...body } = e;
  return sha256Hex(prevHash + canonicalJson(body));
}

const SCAN_BATCH = 1000;

export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  private readonly listeners: ((entry: AuditRecord) => void)[] = [];

  /** Tells `listener` (SIEM export…) about every entry this process appends, once it is committed. */
  onAppended(listener: (entry: AuditRecord) => void): void {
    this.listeners.push(listener);
  }

  private emit(entry: AuditRecord): void {
    for (const l of this.listeners) l(entry);
  }

  /** Appends an entry inside the caller's transaction, so the mutation and its entry commit together. */
  async append(tx: StoreOps, input: AuditInput): Promise<AuditRecord> {
    const { seq, prevHash } = await tx.nextAuditLink(input.workspaceId);
    const body = { ...input, seq, at: this.clock.now(), prevHash };
    const entry: AuditRecord = { ...body, hash: entryHash(body) };
    await tx.insertAuditEntry(entry);
    if (this.listeners.length > 0) tx.afterCommit(() => this.emit(entry));
    return entry;
  }

  /** Newest first; `beforeSeq` is the cursor. */
  list(
    ctx: CallContext,
    filter: {
      action?: string | undefined;
      targetId?: string | undefined;
      beforeSeq?: number | undefined;
      limit: number;
    },
  ): Promise<AuditRecord[]> {
    if (!ctx.principal.permissions.has('audit.read')) throw denied('audit.read');
    return this.store.listAudit(ctx.principal.workspaceId, filter);
  }

  verifyFor(ctx: CallContext): Promise<AuditVerification> {
    if (!ctx.principal.permissions.has('audit.read')) throw denied('audit.read');
    return this.verify(ctx.principal.workspaceId);
  }

  /**
   * Walks the workspace's chain from the first entry. A gap in `seq` (a deleted entry), a
   * `prevHash` that is not the previous entry's hash, or a hash that does not match the
   * entry's content marks the first bad `seq`.
   */
  async verify(workspaceId: string): Promise<AuditVerification> {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    for (;;) {
      const batch = await this.store.scanAudit(workspaceId, expectedSeq, SCAN_BATCH);
      for (const e of batch) {
        if (e.seq !== expectedSeq || e.prevHash !== prevHash || entryHash(e) !== e.hash) {
          return { ok: false, checked, firstBadSeq: expectedSeq };
        }
        checked++;
        prevHash = e.hash;
        expectedSeq++;
      }
      if (batch.length < SCAN_BATCH) break;
    }
    // Entries removed from the end leave the chain head pointing past the last entry.
    const head = await this.store.auditHead(workspaceId);
    if (head.seq !== expectedSeq - 1 || head.hash !== prevHash) {
      return { ok: false, checked, firstBadSeq: expectedSeq };
    }
    return { ok: true, checked, firstBadSeq: null };
  }
}
