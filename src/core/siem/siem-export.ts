/**
 * What Keyward sends to a SIEM. `audit`: an audit entry (`AuditRecord`), revocations included;
 * `alert`: a fired alert (`{ id, ruleId, keyId, workspaceId, at, detail }`); `usage`: one
 * verification (`UsageEvent`), exported only when the operator asks for it.
 */
export type SiemKind = 'audit' | 'alert' | 'usage';

export const SIEM_KINDS: readonly SiemKind[] = ['audit', 'alert', 'usage'];

/**
 * The port core and the composition root hand events to. `export` must return at once and
 * never throw: delivery is asynchronous, buffered and bounded, so a SIEM that is down can
 * never slow a verification or an API call. Payloads must never hold key material or secret
 * values.
 */
export interface SiemExport {
  export(kind: SiemKind, payload: object): void;
}

/** For a server without sinks, and for tests that do not care. */
export const noSiemExport: SiemExport = { export() {} };
