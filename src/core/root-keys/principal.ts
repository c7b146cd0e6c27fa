import type { AuditInput } from '../audit/index.js';
import type { PermissionSet } from './permissions.js';

/** Who is calling: an authenticated root key of one workspace. */
export interface Principal {
  workspaceId: string;
  rootKeyId: string;
  permissions: PermissionSet;
}

/** A call into core: who makes it and from where (for the audit log). */
export interface CallContext {
  principal: Principal;
  ip: string | null;
}

/** The audit entry of something `ctx`'s caller did to a target: who, from where, what, on what. */
export function callerAuditEntry(
  ctx: CallContext,
  target: { type: string; id: string },
  action: string,
  data: Record<string, unknown>,
): AuditInput {
  return {
    workspaceId: ctx.principal.workspaceId,
    actor: ctx.principal.rootKeyId,
    ip: ctx.ip,
    action,
    targetType: target.type,
    targetId: target.id,
    data,
  };
}
