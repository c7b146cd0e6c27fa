/** The rows Keyward keeps, as core sees them. Times are epoch milliseconds. */

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface RootKeyRecord {
  id: string;
  workspaceId: string;
  name: string | null;
  hash: string;
  start: string;
  permissions: string[];
  createdAt: number;
  revokedAt: number | null;
}

export interface RateLimitSpec {
  name: string;
  limit: number;
  windowMs: number;
}

export interface KeyspaceDefaults {
  ratelimits?: RateLimitSpec[];
  expiresInSeconds?: number;
  scopes?: string[];
  /** Keys created with credits record `credits.low` when their balance falls below this. */
  creditsLowThreshold?: number;
}

export interface RotationPolicy {
  maxAgeSeconds?: number;
  gracePeriodSeconds?: number;
  selfRotation?: boolean;
}

export interface KeyspaceRecord {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  defaults: KeyspaceDefaults;
  rotation: RotationPolicy;
  createdAt: number;
  updatedAt: number;
}

export interface Restrictions {
  ips: string[];
  origins: string[];
}

export interface CreditRefill {
  amount: number;
  interval: 'daily' | 'monthly';
  /** Day of the month of a monthly refill (1–31, default 1); a 31 refills on the last day of shorter months. */
  day?: number;
}

export interface Credits {
  remaining: number;
  refill: CreditRefill | null;
  /** A `credits.low` event is recorded when the balance falls below this. */
  lowThreshold?: number;
}

/** What is stored for a key: never the plaintext, only its sha256. */
export type StoredKeyStatus = 'active' | 'disabled' | 'revoked';

export interface KeyRecord {
  id: string;
  workspaceId: string;
  keyspaceId: string;
  hash: string;
  start: string;
  name: string | null;
  ownerId: string | null;
  meta: Record<string, unknown>;
  scopes: string[];
  status: StoredKeyStatus;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  ratelimits: RateLimitSpec[];
  restrictions: Restrictions;
  replaces: string | null;
  replacedBy: string | null;
  /**
   * The first key of a rotation chain. Keys of one lineage share one credit balance and one
   * set of rate-limit counters, so a rotation never doubles what a consumer may spend.
   */
  lineageId: string;
  revokedAt: number | null;
  revokeReason: string | null;
}

/** A key with its (lineage-shared) credit balance. */
export interface KeyWithCredits extends KeyRecord {
  credits: Credits | null;
}

/**
 * Something that happened that subscribers (webhooks, SIEM) must hear about. Written in the
 * same transaction as the change it reports, so nothing is lost between the two (an outbox).
 */
export interface EventRecord {
  id: string;
  workspaceId: string;
  /** e.g. `key.revoked`, `credits.low`, `secret.rotation_due`. */
  type: string;
  /** Never key material or secret values. */
  data: Record<string, unknown>;
  createdAt: number;
}

export interface AuditRecord {
  workspaceId: string;
  seq: number;
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  ip: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
