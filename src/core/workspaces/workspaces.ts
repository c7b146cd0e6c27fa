import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { RootKeys } from '../root-keys/index.js';
import { type Store, type StoreOps, UniqueViolation, type WorkspaceRecord } from '../store/index.js';

export const DEFAULT_WORKSPACE = 'default';

export class Workspaces {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly rootKeys: RootKeys,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  private async ensureIn(tx: StoreOps, name: string, actor: string): Promise<WorkspaceRecord> {
    const existing = await tx.getWorkspaceByName(name);
    return existing ?? this.createIn(tx, name, actor);
  }

  /** Inserts the workspace (UniqueViolation when the name is taken) and audits it. */
  private async createIn(tx: StoreOps, name: string, actor: string): Promise<WorkspaceRecord> {
    const ws: WorkspaceRecord = { id: newId('workspace', this.random), name, createdAt: this.clock.now() };
    await tx.insertWorkspace(ws);
    await this.audit.append(tx, {
      workspaceId: ws.id,
      actor,
      ip: null,
      action: 'workspace.created',
      targetType: 'workspace',
      targetId: ws.id,
      data: { name },
    });
    return ws;
  }

  /**
   * On an empty store: the `default` workspace and one root key with `*`, returned so the
   * server can print it once. Null when the store was not empty — including when another node
   * starting at the same moment won the race.
   */
  async bootstrap(): Promise<{ workspace: WorkspaceRecord; key: string } | null> {
    if ((await this.store.countWorkspaces()) > 0) return null;
    try {
      return await this.store.transaction(async (tx) => {
        if ((await tx.countWorkspaces()) > 0) return null;
        // Created, never looked up: on PostgreSQL (read committed) a node starting at the same
        // moment can commit between the count above and this statement, and reusing its
        // workspace would mint a second bootstrap key. The insert fails on the name instead.
        const workspace = await this.createIn(tx, DEFAULT_WORKSPACE, 'system');
        const { key } = await this.rootKeys.createIn(tx, {
          workspaceId: workspace.id,
          name: 'bootstrap',
          permissions: ['*'],
          actor: 'system',
          ip: null,
        });
        return { workspace, key };
      });
    } catch (err) {
      if (err instanceof UniqueViolation) return null;
      throw err;
    }
  }

  /** Offline root-key creation (`keyward root-keys create`): creates the workspace if needed. */
  async createRootKeyOffline(input: {
    workspace: string;
    name: string | null;
    permissions: string[];
  }): Promise<{ key: string; id: string; workspaceId: string }> {
    return this.store.transaction(async (tx) => {
      const ws = await this.ensureIn(tx, input.workspace, 'cli');
      const { key, record } = await this.rootKeys.createIn(tx, {
        workspaceId: ws.id,
        name: input.name,
        permissions: input.permissions,
        actor: 'cli',
        ip: null,
      });
      return { key, id: record.id, workspaceId: ws.id };
    });
  }
}
