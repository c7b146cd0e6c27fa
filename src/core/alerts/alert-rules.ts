import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { invalid, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { type CallContext, callerAuditEntry, denied, type KeysPermission } from '../root-keys/index.js';
import type { AlertRecord, AlertRuleRecord, Store, StoreOps } from '../store/index.js';
import { type AlertRuleInput, checkRuleInput, DEFAULT_COOLDOWN_SECONDS } from './alert-rule.js';

export interface AlertRuleUpdate {
  name?: string | undefined;
  enabled?: boolean | undefined;
  cooldownSeconds?: number | undefined;
}

/** What a rule's actions need besides `alerts.write`: a rule must not do what its creator could not. */
const ACTION_PERMISSIONS: Partial<Record<AlertRuleRecord['actions'][number], KeysPermission>> = {
  disable: 'keys.update',
  rotate: 'keys.rotate',
};

/**
 * Alert rules (`alerts.write`) and the alerts they fired (`usage.read`: alerts are monitoring
 * data, like usage). Each change and its audit entry commit together.
 */
export class AlertRules {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  async create(ctx: CallContext, input: AlertRuleInput): Promise<AlertRuleRecord> {
    checkRuleInput(input);
    const ws = ctx.principal.workspaceId;
    return this.store.transaction(async (tx) => {
      // Lookup first (404), then permissions (403).
      let keyspaceId = input.keyspaceId ?? null;
      if (input.keyId !== undefined) {
        const key = await tx.getKey(ws, input.keyId);
        if (!key) throw notFound('key', input.keyId);
        if (keyspaceId !== null && key.keyspaceId !== keyspaceId)
          throw invalid('/keyId', `is not a key of keyspace ${keyspaceId}`);
        keyspaceId = key.keyspaceId;
      } else if (keyspaceId !== null && !(await tx.getKeyspace(ws, keyspaceId))) {
        throw notFound('keyspace', keyspaceId);
      }
      const perms = ctx.principal.permissions;
      if (!perms.has('alerts.write')) throw denied('alerts.write');
      for (const action of input.actions) {
        const needed = ACTION_PERMISSIONS[action];
        if (needed === undefined) continue;
        const held = keyspaceId !== null ? perms.hasFor(needed, keyspaceId) : perms.has(needed);
        if (!held) throw denied(needed);
      }
      const now = this.clock.now();
      const rule: AlertRuleRecord = {
        id: newId('alertRule', this.random),
        workspaceId: ws,
        name: input.name,
        // A key-scoped rule keeps its key's keyspace, so reading the scope needs no second lookup.
        keyspaceId,
        keyId: input.keyId ?? null,
        condition: input.condition,
        actions: input.actions,
        cooldownSeconds: input.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS,
        enabled: input.enabled ?? true,
        createdAt: now,
        updatedAt: now,
      };
      await tx.insertAlertRule(rule);
      await this.auditEntry(tx, ctx, 'alert_rule.created', rule.id, {
        name: rule.name,
        keyspaceId: rule.keyspaceId,
        keyId: rule.keyId,
        condition: rule.condition,
        actions: rule.actions,
        cooldownSeconds: rule.cooldownSeconds,
        enabled: rule.enabled,
      });
      return rule;
    });
  }

  async get(ctx: CallContext, id: string): Promise<AlertRuleRecord> {
    return this.load(this.store, ctx, id);
  }

  async list(
    ctx: CallContext,
    page: { limit: number; after?: { createdAt: number; id: string } | undefined },
  ): Promise<AlertRuleRecord[]> {
    if (!ctx.principal.permissions.has('alerts.write')) throw denied('alerts.write');
    return this.store.listAlertRules(ctx.principal.workspaceId, page);
  }

  async update(ctx: CallContext, id: string, input: AlertRuleUpdate): Promise<AlertRuleRecord> {
    return this.store.transaction(async (tx) => {
      const rule = await this.load(tx, ctx, id);
      const patch = { updatedAt: this.clock.now() } as const;
      const changes: AlertRuleUpdate = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.enabled !== undefined) changes.enabled = input.enabled;
      if (input.cooldownSeconds !== undefined) changes.cooldownSeconds = input.cooldownSeconds;
      await tx.updateAlertRule(ctx.principal.workspaceId, id, { ...changes, ...patch });
      await this.auditEntry(tx, ctx, 'alert_rule.updated', id, { ...changes });
      return { ...rule, ...changes, ...patch };
    });
  }

  async delete(ctx: CallContext, id: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const rule = await this.load(tx, ctx, id);
      await tx.deleteAlertRule(ctx.principal.workspaceId, id);
      await this.auditEntry(tx, ctx, 'alert_rule.deleted', id, { name: rule.name });
    });
  }

  /** Fired alerts, newest first. */
  async listAlerts(
    ctx: CallContext,
    filter: {
      ruleId?: string | undefined;
      keyId?: string | undefined;
      after?: { at: number; id: string } | undefined;
      limit: number;
    },
  ): Promise<AlertRecord[]> {
    if (!ctx.principal.permissions.has('usage.read')) throw denied('usage.read');
    return this.store.listAlerts(ctx.principal.workspaceId, filter);
  }

  /** Lookup inside the caller's workspace first (404), then the permission (403). */
  private async load(tx: StoreOps, ctx: CallContext, id: string): Promise<AlertRuleRecord> {
    const rule = await tx.getAlertRule(ctx.principal.workspaceId, id);
    if (!rule) throw notFound('alert rule', id);
    if (!ctx.principal.permissions.has('alerts.write')) throw denied('alerts.write');
    return rule;
  }

  private async auditEntry(
    tx: StoreOps,
    ctx: CallContext,
    action: string,
    targetId: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.append(tx, callerAuditEntry(ctx, { type: 'alert_rule', id: targetId }, action, data));
  }
}
