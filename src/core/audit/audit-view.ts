import { toIso } from '../clock/index.js';
import type { AuditRecord } from '../store/index.js';

export function auditView(e: AuditRecord) {
  return {
    seq: e.seq,
    at: toIso(e.at),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    data: e.data,
    hash: e.hash,
    prevHash: e.prevHash,
  };
}
