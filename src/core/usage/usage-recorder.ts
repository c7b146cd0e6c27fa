import type { Clock } from '../clock/index.js';
import { type RandomSource, randomBase62, secureRandom } from '../crypto/index.js';
import { StoreUnavailable, UniqueViolation } from '../store/index.js';
import { realTimers, type Timers } from './timers.js';
import type { UsageBatch, UsageBatchWriter } from './usage-batch.js';
import { lastUses, UsageColumns, usageCounts } from './usage-columns.js';
import type { UsageEvent, UsageFeed, UsageSink } from './usage-event.js';

export interface UsageRecorderOptions {
  /** Events per flush transaction; a full batch is flushed at once. */
  batchSize: number;
  /** How often a partial batch is flushed, in ms. */
  flushIntervalMs: number;
  /**
   * Most events held in memory, queued or waiting for a retry. Beyond it a new event is not
   * kept: it is counted as dropped (never silently).
   */
  maxQueued: number;
  /** Attempts for a batch failing with an error other than an unreachable store. */
  maxAttempts: number;
  /** Longest pause between two attempts of a batch, in ms (the pause doubles from 1 s). */
  maxBackoffMs: number;
  /** Flush attempts at shutdown before what is left is counted as dropped. */
  closeAttempts: number;
}

export const DEFAULT_USAGE_RECORDER_OPTIONS: UsageRecorderOptions = {
  // Not 1000: each transaction rewrites every index page it touches, and raw events are stored
  // one block per key per batch, so five times the events per transaction store an event for
  // 0.8× the CPU with one key and 0.2× with 1,000 (one event per block at 1,000 events a batch):
  // bench/usage-writes.js, docs/benchmarks.md.
  batchSize: 5000,
  flushIntervalMs: 1000,
  maxQueued: 100_000,
  maxAttempts: 5,
  maxBackoffMs: 30_000,
  closeAttempts: 5,
};

/** Why events were not stored: the queue was full, the store refused them, or shutdown came first. */
export type DropReason = 'queue_full' | 'write_failed' | 'shutdown';

export interface UsageRecorderHooks {
  /** A flush failed; `willRetry` is false when its events are dropped. */
  onFlushFailed?(err: unknown, info: { attempt: number; events: number; willRetry: boolean }): void;
  /** Events were not stored. Queue-full drops are reported once per flush interval, summed. */
  onDropped?(count: number, reason: DropReason): void;
}

/** A batch on its way to the store, with its failed attempts so far. */
interface Batch extends UsageBatch {
  attempts: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const FIRST_BACKOFF_MS = 1_000;

/**
 * Takes every verification's usage event without blocking (`record` writes nine numbers into
 * typed columns) and hands them in batches to its writer, which writes each in one transaction:
 * the raw events, the per-minute and per-hour counts by key and code (upserts adding to what is
 * there), and each key's `lastUsedAt` (once per key per batch, not once per verification). After
 * the commit, the batch goes to the feed's listeners (alerts, SIEM).
 *
 * Nothing is lost silently: a batch that fails stays at the head of the queue and is retried
 * with backoff (indefinitely while the store is unreachable, `maxAttempts` times for other
 * errors); whatever cannot be kept — the queue is full, the store refuses the batch for good,
 * or shutdown finds the store still down — is counted in `dropped` and reported to the hooks.
 */
export class UsageRecorder implements UsageSink, UsageFeed {
  private readonly options: UsageRecorderOptions;
  private readonly listeners: ((batch: UsageColumns) => void)[] = [];
  /** Events not yet in a batch, oldest first. */
  private open: UsageColumns;
  /** Full (or timer-sealed) batches waiting for the store, oldest first. */
  private readonly sealed: UsageColumns[] = [];
  /** The batch being written, or waiting for its next attempt. */
  private head: Batch | null = null;
  private draining: Promise<void> | null = null;
  private retryAt = 0;
  private stopTimer: (() => void) | null = null;
  private closed = false;
  private unreportedDrops = 0;
  /** The ids' per-process tag (see usageEventId). */
  private readonly node: string;
  private seq = 0;

  /** Events held in memory (queued or waiting for a retry). */
  depth = 0;
  /** Events that were not stored, since start. */
  dropped = 0;
  /** Events committed to the store, since start. */
  stored = 0;
  /** Flush transactions that failed, since start. */
  flushFailures = 0;

  constructor(
    private readonly writer: UsageBatchWriter,
    private readonly clock: Clock,
    options: Partial<UsageRecorderOptions> = {},
    private readonly hooks: UsageRecorderHooks = {},
    private readonly timers: Timers = realTimers,
    random: RandomSource = secureRandom,
  ) {
    this.options = { ...DEFAULT_USAGE_RECORDER_OPTIONS, ...options };
    this.node = randomBase62(8, random);
    this.open = this.columns();
  }

  onFlushed(listener: (batch: UsageColumns) => void): void {
    this.listeners.push(listener);
  }

  /** The verification hot path: never blocks, never throws. */
  record(event: UsageEvent): void {
    if (this.closed || this.depth >= this.options.maxQueued) {
      this.dropped++;
      this.unreportedDrops++;
      return;
    }
    this.depth++;
    this.open.push(event);
    if (this.open.length >= this.options.batchSize) {
      this.sealed.push(this.open);
      this.open = this.columns();
      // Not inline: the flush starts after the verification that filled the batch has answered.
      queueMicrotask(() => this.kick());
    }
  }

  /** Starts the flush timer. */
  start(): void {
    this.stopTimer ??= this.timers.every(this.options.flushIntervalMs, () => this.tick());
  }

  /** What the timer does: flush what has gathered, report drops, retry a failed batch when due. */
  tick(): void {
    this.seal();
    if (this.unreportedDrops > 0) {
      const n = this.unreportedDrops;
      this.unreportedDrops = 0;
      this.hooks.onDropped?.(n, 'queue_full');
    }
    this.kick();
  }

  /**
   * Writes everything recorded so far, retrying a failed batch at once (not after its backoff).
   * Resolves to false when a write failed (its events stay queued), true otherwise.
   */
  async flush(): Promise<boolean> {
    this.seal();
    while (this.draining) await this.draining;
    this.retryAt = 0;
    await this.kick();
    return this.head === null;
  }

  /**
   * Stops the timer and flushes, retrying a few times while the store is down; whatever is
   * still unwritten after that is counted as dropped, and so is any event recorded later.
   */
  async close(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = null;
    for (let attempt = 1; attempt <= this.options.closeAttempts; attempt++) {
      const ok = await this.flush();
      // Events recorded while the flush ran (requests still finishing) need another round.
      if (ok && this.open.length === 0) break;
      if (!ok && attempt < this.options.closeAttempts) await this.timers.sleep(this.backoff(attempt));
    }
    this.closed = true;
    const left = this.depth;
    if (left > 0) {
      this.open = this.columns();
      this.sealed.length = 0;
      this.head = null;
      this.depth = 0;
      this.drop(left, 'shutdown');
    }
    if (this.unreportedDrops > 0) this.hooks.onDropped?.(this.unreportedDrops, 'queue_full');
    this.unreportedDrops = 0;
  }

  private seal(): void {
    if (this.open.length === 0) return;
    this.sealed.push(this.open);
    this.open = this.columns();
  }

  private columns(): UsageColumns {
    return new UsageColumns(this.options.batchSize);
  }

  private kick(): Promise<void> {
    if (!this.draining)
      this.draining = this.drain()
        .catch(() => undefined)
        .finally(() => {
          this.draining = null;
        });
    return this.draining;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.head === null) {
        const next = this.sealed.shift();
        if (!next) return;
        this.head = this.prepare(next);
      }
      if (this.clock.now() < this.retryAt) return;
      await this.write(this.head);
      // A failed write leaves the head in place, to be retried after its backoff.
      if (this.head !== null) return;
    }
  }

  private prepare(events: UsageColumns): Batch {
    const firstSeq = this.seq + 1;
    this.seq += events.length;
    return {
      events,
      node: this.node,
      firstSeq,
      minute: usageCounts(events, MINUTE_MS),
      hour: usageCounts(events, HOUR_MS),
      uses: lastUses(events),
      attempts: 0,
    };
  }

  private async write(batch: Batch): Promise<void> {
    try {
      await this.writer.write(batch);
    } catch (err) {
      // An earlier attempt committed but its answer was lost (the connection dropped at COMMIT,
      // the writer thread died before answering): the ids are there, so the batch is stored.
      // Writing it again would count twice.
      if (!(err instanceof UniqueViolation && batch.attempts > 0)) {
        this.failed(batch, err);
        return;
      }
    }
    this.done(batch);
    this.emit(batch.events);
  }

  private failed(batch: Batch, err: unknown): void {
    batch.attempts++;
    this.flushFailures++;
    const willRetry = err instanceof StoreUnavailable || batch.attempts < this.options.maxAttempts;
    this.hooks.onFlushFailed?.(err, { attempt: batch.attempts, events: batch.events.length, willRetry });
    if (willRetry) {
      this.retryAt = this.clock.now() + this.backoff(batch.attempts);
      return;
    }
    this.head = null;
    this.depth -= batch.events.length;
    this.drop(batch.events.length, 'write_failed');
  }

  private done(batch: Batch): void {
    this.head = null;
    this.retryAt = 0;
    this.depth -= batch.events.length;
    this.stored += batch.events.length;
  }

  private drop(count: number, reason: DropReason): void {
    this.dropped += count;
    this.hooks.onDropped?.(count, reason);
  }

  private backoff(attempt: number): number {
    return Math.min(this.options.maxBackoffMs, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
  }

  private emit(batch: UsageColumns): void {
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch {
        // A listener reports its own failures; the batch is stored regardless.
      }
    }
  }
}
