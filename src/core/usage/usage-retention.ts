import type { Clock } from '../clock/index.js';
import type { RollupTable, Store } from '../store/index.js';
import { realTimers, type Timers } from './timers.js';

export interface UsageRetentionOptions {
  /** Raw events and minute counts are kept this many days; 0 keeps them forever. */
  eventDays: number;
  /** Hour counts (hour and day series) are kept this many days; 0 keeps them forever. */
  rollupDays: number;
  /** Rows deleted per statement, so a purge never holds a long lock. */
  chunk: number;
  /** Pause between two purges, in ms. */
  intervalMs: number;
}

export const DEFAULT_USAGE_RETENTION: UsageRetentionOptions = {
  eventDays: 30,
  rollupDays: 400,
  chunk: 5_000,
  intervalMs: 3_600_000,
};

export interface PurgeResult {
  events: number;
  minute: number;
  hour: number;
}

export const DAY_MS = 86_400_000;

/**
 * Calls `deleteChunk(chunk)` until it deletes fewer than `chunk` rows, pausing between calls so
 * other work interleaves; resolves to how many rows it deleted in all.
 */
export async function deleteInChunks(
  deleteChunk: (limit: number) => Promise<number>,
  chunk: number,
  pause: () => Promise<void>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteChunk(chunk);
    total += n;
    if (n < chunk) return total;
    await pause();
  }
}

/**
 * Deletes usage older than the retention periods, in bounded chunks with a pause between them
 * so verifications and flushes interleave. Idempotent: several nodes may purge at once.
 */
export class UsageRetention {
  private readonly options: UsageRetentionOptions;
  private stopTimer: (() => void) | null = null;
  private running: Promise<PurgeResult> | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    options: Partial<UsageRetentionOptions> = {},
    private readonly timers: Timers = realTimers,
  ) {
    this.options = { ...DEFAULT_USAGE_RETENTION, ...options };
  }

  /** Purges now, then every `intervalMs`; failures go to `onError` and the next run tries again. */
  start(onError: (err: unknown) => void): void {
    if (this.stopTimer) return;
    const run = () => void this.purge().catch(onError);
    this.stopTimer = this.timers.every(this.options.intervalMs, run);
    run();
  }

  /** Stops the timer and waits for a purge in progress (whose failure was already reported). */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = null;
    await this.running?.catch(() => undefined);
  }

  /** One purge of every table; a purge already running is joined, not doubled. */
  purge(): Promise<PurgeResult> {
    this.running ??= this.purgeAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async purgeAll(): Promise<PurgeResult> {
    const now = this.clock.now();
    const { eventDays, rollupDays } = this.options;
    const result: PurgeResult = { events: 0, minute: 0, hour: 0 };
    if (eventDays > 0) {
      const cutoff = now - eventDays * DAY_MS;
      result.events = await this.chunked((limit) => this.store.purgeUsageEvents(cutoff, limit));
      result.minute = await this.rollups('minute', cutoff);
    }
    if (rollupDays > 0) result.hour = await this.rollups('hour', now - rollupDays * DAY_MS);
    return result;
  }

  private rollups(table: RollupTable, cutoff: number): Promise<number> {
    return this.chunked((limit) => this.store.purgeUsageCounts(table, cutoff, limit));
  }

  private chunked(deleteChunk: (limit: number) => Promise<number>): Promise<number> {
    return deleteInChunks(deleteChunk, this.options.chunk, () => this.timers.sleep(0));
  }
}
