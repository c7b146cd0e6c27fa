/**
 * Alerts' part of the store: rules, fired alerts, and the evaluation state that lets several
 * nodes evaluate one rule together — window counters, spike baselines, the networks each key
 * was seen from, and the cool-down claims that make a firing happen once cluster-wide.
 * Times are epoch milliseconds.
 */

export type AlertMetric = 'verifications' | 'failures';

/** The verification codes a failure count can be narrowed to (every code but VALID). */
export type FailureCode =
  | 'NOT_FOUND'
  | 'DISABLED'
  | 'REVOKED'
  | 'EXPIRED'
  | 'FORBIDDEN'
  | 'INSUFFICIENT_SCOPES'
  | 'RATE_LIMITED'
  | 'USAGE_EXCEEDED';

export type AlertCondition =
  | {
      type: 'threshold';
      metric: AlertMetric;
      count: number;
      windowSeconds: number;
      /** With `metric: failures`: only these codes count (default: every code but VALID). */
      codes?: FailureCode[] | undefined;
    }
  | {
      type: 'spike';
      factor: number;
      windowSeconds: number;
      /** The current window needs at least this many verifications to fire. */
      minCount?: number | undefined;
      /** Completed windows of history the baseline needs before the rule may fire. */
      minHistoryWindows?: number | undefined;
    }
  | { type: 'new_ip' }
  | {
      type: 'failure_burst';
      count: number;
      windowSeconds: number;
      codes?: FailureCode[] | undefined;
    };

export type AlertConditionType = AlertCondition['type'];
export type AlertAction = 'notify' | 'disable' | 'rotate';

export interface AlertRuleRecord {
  id: string;
  workspaceId: string;
  name: string;
  /** Scope: a key (`keyId`), a keyspace (`keyspaceId`), or the whole workspace (both null). */
  keyspaceId: string | null;
  keyId: string | null;
  condition: AlertCondition;
  actions: AlertAction[];
  /** After a firing, the same rule does not fire again for the same key (or IP) this long. */
  cooldownSeconds: number;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface AlertRulePatch {
  name?: string;
  enabled?: boolean;
  cooldownSeconds?: number;
  updatedAt: number;
}

export interface AlertRecord {
  id: string;
  workspaceId: string;
  ruleId: string;
  /** The key the alert is about; null for a failure burst (which spans keys). */
  keyId: string | null;
  /** What the cool-down is kept per: the key id, or `ip:<address>` for a failure burst. */
  subject: string;
  at: number;
  /** What was observed and what the actions did. Never key material. */
  detail: Record<string, unknown>;
}

export interface AlertFilter {
  ruleId?: string | undefined;
  keyId?: string | undefined;
  /** Newest first (by `at`, then `id`); the position of the last alert already seen. */
  after?: { at: number; id: string } | undefined;
  limit: number;
}

/** One increment of a window counter. */
export interface AlertCountIncrement {
  ruleId: string;
  subject: string;
  /** Start of the step (a tenth of the window) the events fell in. */
  bucket: number;
  count: number;
  /** When the row no longer matters to any window and may be purged. */
  expiresAt: number;
}

/** A key's spike state under one rule: the current window and the moving average of past ones. */
export interface AlertBaselineRecord {
  ruleId: string;
  subject: string;
  /** Start of the current window. */
  bucket: number;
  /** Verifications in the current window so far. */
  count: number;
  /** Exponentially weighted moving average of completed windows' counts. */
  baseline: number;
  /** Completed windows folded into `baseline` (empty ones included). */
  windows: number;
  /** Bumped by every write: the check of a check-and-set. */
  version: number;
  updatedAt: number;
}

export interface AlertStoreOps {
  insertAlertRule(rule: AlertRuleRecord): Promise<void>;
  getAlertRule(workspaceId: string, id: string): Promise<AlertRuleRecord | undefined>;
  /** Newest first. */
  listAlertRules(
    workspaceId: string,
    page: { limit: number; after?: { createdAt: number; id: string } | undefined },
  ): Promise<AlertRuleRecord[]>;
  /** Every enabled rule of a workspace, for evaluation (a workspace has few). */
  listEnabledAlertRules(workspaceId: string): Promise<AlertRuleRecord[]>;
  updateAlertRule(workspaceId: string, id: string, patch: AlertRulePatch): Promise<void>;
  /** Removes the rule and its evaluation state (its fired alerts stay); false when absent. */
  deleteAlertRule(workspaceId: string, id: string): Promise<boolean>;

  insertAlert(alert: AlertRecord): Promise<void>;
  listAlerts(workspaceId: string, filter: AlertFilter): Promise<AlertRecord[]>;

  /** Adds each increment to its (rule, subject, bucket) counter, creating it at need: an upsert. */
  addAlertCounts(increments: AlertCountIncrement[]): Promise<void>;
  /** Per subject: the sum of its counters of `ruleId` whose bucket is `>= since`. Absent subjects are 0. */
  sumAlertCounts(ruleId: string, subjects: string[], since: number): Promise<Map<string, number>>;
  /** Drops counters that expired by `now`; resolves to how many. */
  purgeAlertCounts(now: number): Promise<number>;

  getAlertBaseline(ruleId: string, subject: string): Promise<AlertBaselineRecord | undefined>;
  /**
   * Writes `next` only if the stored row is still at `expectedVersion` (null: only if there is
   * none yet). Resolves to whether it was written; the loser of a race re-reads and retries.
   */
  saveAlertBaseline(next: AlertBaselineRecord, expectedVersion: number | null): Promise<boolean>;

  /**
   * Remembers the networks a key was seen from. `known` says whether the key had any network
   * before this call; `added` lists those of `networks` that were new (of several nodes adding
   * the same network, exactly one gets it back).
   */
  rememberKeyNetworks(
    workspaceId: string,
    keyId: string,
    networks: string[],
    at: number,
  ): Promise<{ known: boolean; added: string[] }>;

  /**
   * Claims the right to fire `ruleId` for `subject`: succeeds when no earlier claim is still
   * cooling down at `now`, and then holds the claim until `until`. One conditional upsert, so
   * of several nodes claiming at once exactly one succeeds.
   */
  claimAlertFiring(ruleId: string, subject: string, now: number, until: number): Promise<boolean>;
}
