import { type Channel, MessageRejected, type Transport } from './transport.js';

export type DropReason = 'overflow' | 'shutdown' | 'rejected';

/** What a sink reports; the exporter turns it into metrics and log lines. */
export interface SinkObserver {
  sent(n: number): void;
  dropped(reason: DropReason, n: number): void;
  /** Every change between up and down, and the first failure (so a sink never up is reported). */
  state(up: boolean, err?: unknown): void;
  depth(n: number): void;
}

export interface BufferOptions {
  /** Messages held while the sink is down; beyond, new messages are dropped and counted. */
  maxEvents: number;
  /** The same bound in characters, so a few huge entries cannot exhaust memory either. */
  maxChars: number;
  /** Characters per write (a write carries at least one message). */
  maxBatchChars: number;
  /** Reconnection backoff: doubles from min to max, with jitter (50–100 % of the step). */
  backoffMinMs: number;
  backoffMaxMs: number;
  random?: () => number;
}

/** After a close destroyed the channel, how long the loop may take to count its last write. */
const LOOP_SETTLE_MS = 100;

/** A FIFO of strings with O(1) push and batched removal from the front. */
class Queue {
  private items: string[] = [];
  private head = 0;
  chars = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(s: string): void {
    this.items.push(s);
    this.chars += s.length;
  }

  peek(maxCount: number, maxChars: number): string[] {
    const out: string[] = [];
    let chars = 0;
    for (let i = this.head; i < this.items.length && out.length < maxCount; i++) {
      const s = this.items[i] as string;
      if (out.length > 0 && chars + s.length > maxChars) break;
      out.push(s);
      chars += s.length;
    }
    return out;
  }

  /** Drops everything after the first `n` messages; returns how many were dropped. */
  truncate(n: number): number {
    const dropped = Math.max(0, this.length - n);
    for (let i = 0; i < dropped; i++) this.chars -= (this.items.pop() as string).length;
    return dropped;
  }

  take(n: number): void {
    for (let i = 0; i < n && this.head < this.items.length; i++) {
      this.chars -= (this.items[this.head] as string).length;
      this.head++;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * One sink: a bounded in-memory buffer drained by one async loop that (re)connects with
 * backoff. `push` never waits and never throws, whatever state the receiver is in: a SIEM that
 * is down costs the API nothing but the bounded memory of the buffer.
 */
export class BufferedSink {
  private readonly queue = new Queue();
  private channel: Channel | null = null;
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private failures = 0;
  /** Messages at the head of the queue that a `send` is writing right now. */
  private inFlight = 0;
  /** No more messages are accepted; the loop drains what it holds, then ends. */
  private closing = false;
  /** The loop ends now, whatever it holds. */
  private stopped = false;
  private wakeIdle: (() => void) | null = null;
  private wakeSleep: (() => void) | null = null;
  private readonly loop: Promise<void>;

  constructor(
    readonly transport: Transport,
    private readonly observer: SinkObserver,
    private readonly opts: BufferOptions,
  ) {
    this.loop = this.run();
  }

  get up(): boolean {
    return this.state === 'up';
  }

  get buffered(): number {
    return this.queue.length;
  }

  push(message: string): void {
    if (this.closing) {
      this.observer.dropped('shutdown', 1);
      return;
    }
    if (this.queue.length >= this.opts.maxEvents || this.queue.chars + message.length > this.opts.maxChars) {
      this.observer.dropped('overflow', 1);
      return;
    }
    this.queue.push(message);
    this.observer.depth(this.queue.length);
    this.wakeIdle?.();
  }

  /**
   * Stops accepting messages and drains the buffer until `deadline` (epoch ms); what is still
   * held then is dropped and counted as `shutdown`.
   */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    this.wakeIdle?.();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([this.loop, expired]);
    const channel = this.channel;
    if (channel && this.queue.length === 0) await Promise.race([channel.end(), expired]);
    clearTimeout(timer);
    this.stop();
    // Closed by us: not a sink going down.
    this.channel = null;
    channel?.destroy();
    // A batch being written is counted by the loop when its write ends, sent or not; a
    // destroyed socket ends it at once, so the loop is given a moment to count it.
    const left = this.queue.truncate(this.inFlight);
    if (left > 0) {
      this.observer.dropped('shutdown', left);
      this.observer.depth(this.queue.length);
    }
    await Promise.race([this.loop, this.sleep(LOOP_SETTLE_MS)]);
  }

  private stop(): void {
    this.stopped = true;
    this.wakeIdle?.();
    this.wakeSleep?.();
  }

  private setState(up: boolean, err?: unknown): void {
    const next = up ? 'up' : 'down';
    if (this.state === next) return;
    this.state = next;
    this.observer.state(up, err);
  }

  private backoff(): number {
    const step = Math.min(
      this.opts.backoffMaxMs,
      this.opts.backoffMinMs * 2 ** Math.min(this.failures - 1, 30),
    );
    return step * (0.5 + 0.5 * (this.opts.random ?? Math.random)());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleep = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakeSleep = done;
    });
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeIdle = () => {
        this.wakeIdle = null;
        resolve();
      };
    });
  }

  private drop(channel: Channel, err: unknown): void {
    if (this.channel !== channel) return;
    this.channel = null;
    channel.destroy();
    this.failures++;
    this.setState(false, err);
    this.wakeIdle?.();
  }

  private async connect(): Promise<Channel | null> {
    if (this.failures > 0) await this.sleep(this.backoff());
    if (this.stopped) return null;
    let channel: Channel;
    try {
      channel = await this.transport.open();
    } catch (err) {
      this.failures++;
      this.setState(false, err);
      return null;
    }
    if (this.stopped) {
      channel.destroy();
      return null;
    }
    this.channel = channel;
    channel.onBroken((err) => this.drop(channel, err));
    if (this.channel === channel) this.setState(true);
    return this.channel;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.closing && this.queue.length === 0) return;
      const channel = this.channel ?? (await this.connect());
      if (channel === null) continue;
      const batch = this.queue.peek(this.transport.maxBatch, this.opts.maxBatchChars);
      if (batch.length === 0) {
        await this.idle();
        continue;
      }
      this.inFlight = batch.length;
      try {
        await channel.send(batch);
        this.inFlight = 0;
        this.queue.take(batch.length);
        this.failures = 0;
        this.observer.sent(batch.length);
        this.observer.depth(this.queue.length);
      } catch (err) {
        this.inFlight = 0;
        if (this.stopped) {
          this.queue.take(batch.length);
          this.observer.dropped('shutdown', batch.length);
          this.observer.depth(this.queue.length);
        } else if (err instanceof MessageRejected) {
          // Retrying a message the transport can never carry would block every later one.
          this.queue.take(1);
          this.observer.dropped('rejected', 1);
          this.observer.depth(this.queue.length);
        } else {
          this.drop(channel, err);
        }
      }
    }
  }
}
