/**
 * What Keyward sends to a SIEM. `audit`: an audit entry (`AuditRecord`), single revocations
 * included; `revocation`: one key of a bulk revocation, which has one audit entry for the whole
 * incident (`{ keyId, incidentId, workspaceId, actor, reason, at }`); `alert`: a fired alert
 * (`AlertRecord`); `usage`: one verification (`UsageEvent`), exported only when asked for.
 */
export type SiemKind = 'audit' | 'revocation' | 'alert' | 'usage';

/**
 * The port core and the composition root hand events to. `export` must return at once and
 * never throw: delivery is asynchronous, buffered and bounded, so a SIEM that is down can
 * never slow a verification or an API call. Payloads must never hold key material or secret
 * values.
 */
export interface SiemExport {
  export(kind: SiemKind, payload: object): void;
}
