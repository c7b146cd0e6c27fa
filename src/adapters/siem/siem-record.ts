import { scrubKeys } from '../../core/keys/index.js';
import type { SiemKind } from '../../core/siem/index.js';

/** RFC 5424 §6.2.1 severities, most to least severe. */
export const SEVERITY_NAMES = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'informational',
  'debug',
] as const;

export type SeverityName = (typeof SEVERITY_NAMES)[number];

/** RFC 5424 §6.2.1 facilities used here: 10 security/authorization, 13 log audit. */
export const FACILITY_AUTHPRIV = 10;
export const FACILITY_LOG_AUDIT = 13;

const SEVERITY = { alert: 1, warning: 4, notice: 5, informational: 6 } as const;

/**
 * One exported event, independent of the wire format: the syslog sinks and the JSON-lines sink
 * both render it. `fields` are the flat identifiers a SIEM filters on (syslog structured data);
 * `data` is the whole event.
 */
export interface SiemRecord {
  kind: SiemKind;
  /** The audit action, `key.revoked`, `alert.fired` or `key.verified`: the syslog MSGID. */
  type: string;
  /** When it happened (epoch ms), not when it was sent. */
  at: number;
  facility: number;
  severity: number;
  fields: Record<string, string>;
  data: Record<string, unknown>;
}

/** A serialized `data` above this is replaced by a marker, so every line fits one UDP datagram. */
export const MAX_DATA_BYTES = 32 * 1024;
/** Structured-data values are identifiers; anything longer is cut. */
const MAX_FIELD_CHARS = 256;

/**
 * The fields of a usage event that are exported: listed, not copied wholesale, so a field
 * added to `UsageEvent` later is not exported before someone decides it may be.
 */
const USAGE_FIELDS = [
  'at',
  'keyId',
  'keyspaceId',
  'workspaceId',
  'code',
  'ip',
  'origin',
  'resource',
  'latencyUs',
] as const;

function pick(payload: Record<string, unknown>, names: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [param, field] of Object.entries(names)) {
    const v = payload[field];
    if (typeof v === 'string' && v !== '') out[param] = v.slice(0, MAX_FIELD_CHARS);
    else if (typeof v === 'number' && Number.isFinite(v)) out[param] = String(v);
  }
  return out;
}

function time(payload: Record<string, unknown>, now: number): number {
  const at = payload.at;
  return typeof at === 'number' && Number.isFinite(at) ? at : now;
}

function auditSeverity(action: string): number {
  // A revocation (one key, a root key, or a bulk revocation's incident) is what a SOC most
  // wants to see next to a later use of the same key.
  return action.endsWith('.revoked') || action === 'incident.created' ? SEVERITY.warning : SEVERITY.notice;
}

/**
 * Classifies a payload handed to `SiemExport.export`: facility, severity, MSGID and the
 * structured-data fields per kind (the table is in docs/monitoring.md). Strings that look like
 * keys are redacted (core/keys/scrub.ts).
 */
export function toSiemRecord(kind: SiemKind, payload: object, now: number): SiemRecord {
  const p = payload as Record<string, unknown>;
  switch (kind) {
    case 'audit': {
      const action = typeof p.action === 'string' ? p.action : 'audit.unknown';
      return {
        kind,
        type: action,
        at: time(p, now),
        facility: FACILITY_LOG_AUDIT,
        severity: auditSeverity(action),
        fields: pick(p, {
          workspaceId: 'workspaceId',
          action: 'action',
          actor: 'actor',
          targetType: 'targetType',
          targetId: 'targetId',
          ip: 'ip',
          seq: 'seq',
          hash: 'hash',
        }),
        data: scrubKeys(p) as Record<string, unknown>,
      };
    }
    case 'revocation':
      return {
        kind,
        type: 'key.revoked',
        at: time(p, now),
        facility: FACILITY_LOG_AUDIT,
        severity: SEVERITY.warning,
        fields: pick(p, {
          workspaceId: 'workspaceId',
          keyId: 'keyId',
          incidentId: 'incidentId',
          actor: 'actor',
        }),
        data: scrubKeys(p) as Record<string, unknown>,
      };
    case 'alert': {
      const detail =
        typeof p.detail === 'object' && p.detail !== null ? (p.detail as Record<string, unknown>) : {};
      return {
        kind,
        type: 'alert.fired',
        at: time(p, now),
        facility: FACILITY_AUTHPRIV,
        severity: SEVERITY.alert,
        fields: {
          ...pick(p, { workspaceId: 'workspaceId', alertId: 'id', ruleId: 'ruleId', keyId: 'keyId' }),
          // threshold, spike, new_ip, failure_burst: what a SIEM rule most often matches on.
          ...pick(detail, { alertType: 'type' }),
        },
        data: scrubKeys(p) as Record<string, unknown>,
      };
    }
    case 'usage': {
      const data: Record<string, unknown> = {};
      for (const f of USAGE_FIELDS) if (f in p) data[f] = p[f];
      return {
        kind,
        type: 'key.verified',
        at: time(p, now),
        facility: FACILITY_AUTHPRIV,
        severity: p.code === 'VALID' ? SEVERITY.informational : SEVERITY.notice,
        fields: pick(p, {
          workspaceId: 'workspaceId',
          keyspaceId: 'keyspaceId',
          keyId: 'keyId',
          code: 'code',
          ip: 'ip',
        }),
        data: scrubKeys(data) as Record<string, unknown>,
      };
    }
  }
}

/** JSON with every non-ASCII character escaped: valid JSON, and plain ASCII on every wire. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The one JSON shape of an exported event: a line of the file sink, and the MSG of a syslog
 * line. A `data` larger than MAX_DATA_BYTES is replaced by `{ truncated: true, bytes }`
 * (the structured-data identifiers still say what happened).
 */
export function recordJson(record: SiemRecord, host: string): string {
  let data = asciiJson(record.data);
  if (data.length > MAX_DATA_BYTES) data = asciiJson({ truncated: true, bytes: data.length });
  const head = asciiJson({
    time: new Date(record.at).toISOString(),
    source: 'keyward',
    host,
    kind: record.kind,
    type: record.type,
    severity: SEVERITY_NAMES[record.severity] ?? 'notice',
    workspaceId: record.fields.workspaceId ?? null,
  });
  return `${head.slice(0, -1)},"data":${data}}`;
}
