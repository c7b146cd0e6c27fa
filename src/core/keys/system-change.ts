/**
 * Changes Keyward makes to a key on its own — an alert rule's action now, a leak report later —
 * rather than a root key through the API. Expected refusals (the key is gone, already revoked,
 * already replaced) are outcomes, not exceptions: the caller records them and carries on.
 */

/** Who and what started the change, for the audit entry. */
export interface SystemCause {
  /** The audit entry's actor, e.g. `alert_rule:ar_…`. */
  actor: string;
  /** Why, in the audit entry's `cause`: `alert`, `leak`… */
  cause: string;
  /** Free text for the audit entry (never key material). */
  reason: string | null;
  /** Extra audit data, e.g. `{ alertId }`. */
  data?: Record<string, unknown> | undefined;
}

export interface SystemRotation extends SystemCause {
  /**
   * How long the old key keeps working. Absent: the keyspace's `rotation.gracePeriodSeconds`
   * (0 when it has none). A leak report passes 0, so the old key stops at once.
   */
  gracePeriodSeconds?: number | undefined;
}

/** Why a system change did nothing: the key's effective status, or that it is gone or replaced. */
export type SystemRefusal = 'not_found' | 'disabled' | 'revoked' | 'expired' | 'already_replaced';

export type SystemRotationOutcome =
  | { rotated: true; newKeyId: string; gracePeriodSeconds: number; oldKeyExpiresAt: number }
  | { rotated: false; reason: SystemRefusal };

export type SystemDisableOutcome = { disabled: true } | { disabled: false; reason: SystemRefusal };
