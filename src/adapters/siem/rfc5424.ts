import type { SiemRecord } from './siem-record.js';

/**
 * RFC 5424 syslog lines:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME keyward PROCID MSGID [keyward@32473 name="value" …] MSG
 *
 * PRI = facility × 8 + severity (§6.2.1). TIMESTAMP is RFC 3339 in UTC with milliseconds
 * (§6.2.3). The SD-ID has the `name@<private enterprise number>` form of §7.2.2; 32473 is the
 * number IANA reserves for documentation (RFC 5612) — Keyward has none of its own, and a
 * name with `@` can never collide with an IANA-registered SD-ID. MSG is the event as ASCII
 * JSON (siem-record.ts), so it needs no BOM (§6.4: MSG-ANY).
 */
export const SD_ID = 'keyward@32473';
export const APP_NAME = 'keyward';

const NIL = '-';

/** §6: header fields are 1–N printable US-ASCII characters (33–126), or `-`. */
export function headerField(value: string, maxLength: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, maxLength);
  return clean === '' ? NIL : clean;
}

/** §6.3.3: inside PARAM-VALUE, `"`, `\` and `]` MUST be escaped with a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** §6.3.3: SD-NAME is 1–32 printable ASCII characters except `=`, space, `]` and `"`. */
function paramName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[="\]]/g, '').slice(0, 32);
}

/** One SD-ELEMENT: `[keyward@32473 kind="…" name="value" …]`. */
export function structuredData(kind: string, fields: Record<string, string>): string {
  let params = ` kind="${escapeParamValue(kind)}"`;
  for (const [k, v] of Object.entries(fields)) {
    const name = paramName(k);
    if (name !== '' && name !== 'kind') params += ` ${name}="${escapeParamValue(v)}"`;
  }
  return `[${SD_ID}${params}]`;
}

export interface SyslogOrigin {
  hostname: string;
  procId: string;
}

/** `msg` is the record's JSON (`recordJson`), computed once for every sink. */
export function formatSyslog(record: SiemRecord, origin: SyslogOrigin, msg: string): string {
  const pri = record.facility * 8 + record.severity;
  const timestamp = new Date(record.at).toISOString();
  const host = headerField(origin.hostname, 255);
  const procId = headerField(origin.procId, 128);
  const msgId = headerField(record.type, 32);
  const sd = structuredData(record.kind, record.fields);
  return `<${pri}>1 ${timestamp} ${host} ${APP_NAME} ${procId} ${msgId} ${sd} ${msg}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}
