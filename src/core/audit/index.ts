export { type AuditInput, AuditLog, type AuditVerification, entryHash } from './audit-log.js';
export { auditView } from './audit-view.js';
export { canonicalJson } from './canonical-json.js';
