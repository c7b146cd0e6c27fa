import type { KeyUse, Store, UsageCount, UsageEventRecord } from '../store/index.js';
import type { UsageColumns } from './usage-columns.js';

/**
 * One flush of the usage recorder: the raw events and what the flush writes besides them (the
 * per-minute and per-hour counts by key and code, each key's latest use), all or nothing.
 *
 * Event `i` is stored with the id `usageEventId(node, firstSeq + i)`. The writer derives the ids,
 * so that recording builds no string per event on the thread that answers verifications.
 */
export interface UsageBatch {
  readonly events: UsageColumns;
  readonly node: string;
  readonly firstSeq: number;
  readonly minute: readonly UsageCount[];
  readonly hour: readonly UsageCount[];
  readonly uses: readonly KeyUse[];
}

/**
 * Where the usage recorder writes its batches: one transaction per batch. `write` resolves once
 * the batch is committed and rejects with the store's errors (StoreUnavailable, UniqueViolation
 * when its events are already stored, anything else); the recorder decides about retries.
 */
export interface UsageBatchWriter {
  write(batch: UsageBatch): Promise<void>;
  /** Called after the recorder's last write (the composition root closes it before the store). */
  close(): Promise<void>;
}

/**
 * A random per-process tag, then a fixed-width base-36 counter: unique, and one node's ids of one
 * millisecond sort in the order they were recorded (the events listing's tie-breaker).
 */
export function usageEventId(node: string, seq: number): string {
  return `${node}${seq.toString(36).padStart(11, '0')}`;
}

/**
 * The batch's events as store records. Field by field: whatever else an event object carries
 * never reaches the store.
 */
export function usageEventRecords(batch: UsageBatch): UsageEventRecord[] {
  // The batch's event objects, built once and shared with the feed's listeners after the commit.
  return batch.events.events().map((e, i) => ({
    id: usageEventId(batch.node, batch.firstSeq + i),
    at: e.at,
    keyId: e.keyId,
    keyspaceId: e.keyspaceId,
    workspaceId: e.workspaceId,
    code: e.code,
    ip: e.ip,
    origin: e.origin,
    resource: e.resource,
    latencyUs: e.latencyUs,
  }));
}

/**
 * The writer for stores whose writes do not hold up the event loop (the memory store,
 * PostgreSQL's asynchronous I/O) and for SQLite in memory: one store transaction per batch.
 */
export class StoreUsageWriter implements UsageBatchWriter {
  constructor(private readonly store: Store) {}

  async write(batch: UsageBatch): Promise<void> {
    const records = usageEventRecords(batch);
    await this.store.transaction(async (tx) => {
      await tx.insertUsageEvents(records);
      await tx.addUsageCounts('minute', batch.minute);
      await tx.addUsageCounts('hour', batch.hour);
      await tx.touchKeysLastUsed(batch.uses);
    });
  }

  async close(): Promise<void> {}
}
