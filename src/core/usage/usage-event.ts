import type { VerifyCode } from '../verification/index.js';
import type { UsageColumns } from './usage-columns.js';

/** One verification: who used which key, when, from where, for what, with what outcome. */
export interface UsageEvent {
  at: number;
  /** Null when the presented key matched nothing (NOT_FOUND): enumeration shows up this way. */
  keyId: string | null;
  keyspaceId: string | null;
  workspaceId: string;
  code: VerifyCode;
  ip: string | null;
  origin: string | null;
  resource: string | null;
  /** Server time spent in verification, in microseconds. */
  latencyUs: number;
}

/**
 * Where the verifier hands each usage event. `record` must not block or throw: the
 * implementation batches (and counts anything it could not keep).
 */
export interface UsageSink {
  record(event: UsageEvent): void;
}

/**
 * Batches of usage events, announced once they are durably stored (alert evaluation, SIEM
 * export subscribe here). Listeners run after the flush's transaction commits and must not throw
 * or change the batch; `batch.events()` builds its event objects once, for whoever asks first.
 */
export interface UsageFeed {
  onFlushed(listener: (batch: UsageColumns) => void): void;
}
