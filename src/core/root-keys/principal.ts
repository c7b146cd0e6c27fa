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
