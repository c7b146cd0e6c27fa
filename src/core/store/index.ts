export type * from './alert-store.js';
export { MemoryStore } from './memory-store.js';
export type * from './records.js';
export type {
  BulkRevokeFilter,
  IncidentNote,
  IncidentRecord,
  RevocationStoreOps,
  RevokedKeyRef,
} from './revocation-store.js';
export type { RotationDueRecord, SchedulerStoreOps } from './scheduler-store.js';
export {
  type AuditFilter,
  GENESIS_HASH,
  type KeyFilter,
  type KeyPatch,
  type KeyspacePatch,
  type PageRequest,
  runHooks,
  type Store,
  type StoreOps,
  StoreUnavailable,
  UniqueViolation,
} from './store.js';
export type * from './usage-store.js';
export type * from './vault-store.js';
export type * from './webhook-store.js';
