export {
  isValidPermission,
  type KeysPermission,
  PermissionSet,
  PLAIN_PERMISSIONS,
  type PlainPermission,
  type SecretAccess,
} from './permissions.js';
export { type CallContext, callerAuditEntry, type Principal } from './principal.js';
export { type CreatedRootKey, denied, ROOT_KEY_PREFIX, RootKeys } from './root-keys.js';
export { compileSecretGlob, type SecretGlob } from './secret-glob.js';
