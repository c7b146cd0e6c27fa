import { invalid } from '../errors/index.js';
import type { AlertAction, AlertCondition, AlertRuleRecord, FailureCode } from '../store/index.js';
import type { VerifyCode } from '../verification/index.js';

/** After a firing, the same rule stays quiet for the same key (or IP) this long unless the rule says otherwise. */
export const DEFAULT_COOLDOWN_SECONDS = 3600;
export const MAX_COOLDOWN_SECONDS = 30 * 86_400;
export const MAX_WINDOW_SECONDS = 7 * 86_400;
/** A spike needs at least this many verifications in the current window (unless the rule says otherwise). */
export const DEFAULT_SPIKE_MIN_COUNT = 20;
/** …and a baseline of at least this many completed windows, so a new key never spikes. */
export const DEFAULT_SPIKE_MIN_HISTORY_WINDOWS = 6;

export const ALERT_ACTIONS: readonly AlertAction[] = ['notify', 'disable', 'rotate'];

/** What a caller asks for; `alert-rules.ts` resolves the scope and stores a record. */
export interface AlertRuleInput {
  name: string;
  keyspaceId?: string | undefined;
  keyId?: string | undefined;
  condition: AlertCondition;
  actions: AlertAction[];
  cooldownSeconds?: number | undefined;
  enabled?: boolean | undefined;
}

/**
 * Checks what a schema cannot: combinations. A failure burst spans the workspace's keys (its
 * NOT_FOUND events belong to no key, so a narrower scope would miss them) and names no key, so
 * it can only notify.
 */
export function checkRuleInput(input: AlertRuleInput): void {
  const c = input.condition;
  if (new Set(input.actions).size !== input.actions.length)
    throw invalid('/actions', 'lists an action twice');
  if (c.type === 'failure_burst') {
    if (input.keyId !== undefined || input.keyspaceId !== undefined)
      throw invalid(
        input.keyId !== undefined ? '/keyId' : '/keyspaceId',
        'a failure_burst rule covers the whole workspace (unknown keys have no keyspace); leave it out',
      );
    if (input.actions.some((a) => a !== 'notify'))
      throw invalid('/actions', 'a failure_burst alert names no key, so it can only notify');
  }
  if (c.type === 'threshold' && c.codes !== undefined && c.metric !== 'failures')
    throw invalid('/condition/codes', 'only applies to metric "failures"');
}

/** Whether a verification outcome counts as a failure for a condition (every non-VALID code by default). */
export function isFailure(code: VerifyCode, codes: readonly FailureCode[] | undefined): boolean {
  if (code === 'VALID') return false;
  return codes === undefined || (codes as readonly string[]).includes(code);
}

/** Whether an event of this key/keyspace is in the rule's scope. */
export function inScope(
  rule: Pick<AlertRuleRecord, 'keyId' | 'keyspaceId'>,
  keyId: string | null,
  keyspaceId: string | null,
): boolean {
  if (rule.keyId !== null) return keyId === rule.keyId;
  if (rule.keyspaceId !== null) return keyspaceId === rule.keyspaceId;
  return true;
}
