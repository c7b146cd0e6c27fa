import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { type Store, StoreUnavailable, UniqueViolation } from '../../core/store/index.js';
import { StoreUsageWriter, type UsageBatch, type UsageBatchWriter } from '../../core/usage/index.js';
import { isUnavailable } from './sql-store.js';
import { isUniqueViolation } from './sql-values.js';
import { isPrivateSqliteFile, SQLITE_PRAGMAS } from './sqlite.js';
import { encodeBatch, USAGE_WORKER_SOURCE, type WorkerReply } from './usage-worker.js';

export interface SqliteUsageWriterOptions {
  /**
   * The writer thread ended without being asked to (a crash): the batch it held is retried,
   * and the next batch starts a new thread.
   */
  onExit?(err: Error): void;
  /** Starts the thread; tests wrap it to reach the thread they crash. */
  spawn?(source: string, options: WorkerOptions): Worker;
}

/**
 * The writer thread's nice value (Linux; 0 is the process's own). Usage writes are background
 * work: with 10 the scheduler gives the thread about a tenth of the share of the threads
 * answering verifications when they compete for a core, and all of an idle one.
 */
const WRITER_NICE = 10;

/** How long `close` lets the thread finish its batch and close its connection before ending it. */
const CLOSE_TIMEOUT_MS = 10_000;

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

function spawnWorker(source: string, options: WorkerOptions): Worker {
  return new Worker(source, options);
}

/** An error the thread reported, as the store's port would have raised it. */
function storeError(reply: NonNullable<WorkerReply['error']>): Error {
  const err = Object.assign(new Error(reply.message), { code: reply.code });
  // The only uniqueness a batch can violate: its event ids, already stored by an earlier attempt.
  if (isUniqueViolation(err)) return new UniqueViolation('usage event');
  if (isUnavailable(err)) return new StoreUnavailable(err);
  return err;
}

/**
 * Writes usage batches to a SQLite file from a worker thread with its own connection, so that
 * the inserts (about 5 µs a row here, and better-sqlite3 is synchronous) do not hold up the
 * event loop that answers verifications. The thread starts with the first batch, is referenced
 * only while a batch is in flight (an idle writer never keeps the process alive), and is
 * started again after a crash.
 */
export class SqliteUsageWriter implements UsageBatchWriter {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve(): void; reject(err: unknown): void }>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly options: SqliteUsageWriterOptions = {},
  ) {}

  write(batch: UsageBatch): Promise<void> {
    if (this.closed) return Promise.reject(new Error('usage writer is closed'));
    return new Promise<void>((resolve, reject) => {
      // Inside the executor: a thread that cannot be started is this batch's failure, not a throw.
      const worker = this.worker ?? this.start();
      const id = ++this.nextId;
      const encoded = encodeBatch(batch);
      this.pending.set(id, { resolve, reject });
      worker.ref();
      // Copied, not transferred: the columns stay with the recorder (a retry, the feed's listeners),
      // and a transfer would detach buffers, which makes V8 check every typed array access since.
      worker.postMessage({ kind: 'batch', id, batch: encoded });
    });
  }

  /** Lets the thread finish and close its connection (ending it if it does not in time). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    const exited = once(worker, 'exit');
    worker.postMessage({ kind: 'close' });
    const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private start(): Worker {
    const spawn = this.options.spawn ?? spawnWorker;
    const worker = spawn(USAGE_WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: this.file, pragmas: SQLITE_PRAGMAS, nice: WRITER_NICE },
    });
    let crash: unknown;
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error) p.reject(storeError(reply.error));
      else p.resolve();
    });
    // Without this listener an exception in the thread would be rethrown here and end the process.
    worker.on('error', (err) => {
      crash = err;
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      const asked = this.closed && crash === undefined && code === 0;
      if (asked && this.pending.size === 0) return;
      // Whatever it held may or may not have committed: the recorder retries it, and a retry of
      // a committed batch is recognized by its ids (UniqueViolation after a first attempt).
      const err = new Error(`usage writer thread exited with code ${code}`, { cause: crash });
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!asked) this.options.onExit?.(err);
    });
    this.worker = worker;
    return worker;
  }
}

/**
 * The usage writer for a SQLite store: a writer thread on the store's file, or, for a database
 * in memory (which no second connection can open), the store's own transactions.
 */
export function openSqliteUsageWriter(
  file: string,
  store: Store,
  options: SqliteUsageWriterOptions = {},
): UsageBatchWriter {
  return isPrivateSqliteFile(file) ? new StoreUsageWriter(store) : new SqliteUsageWriter(file, options);
}
