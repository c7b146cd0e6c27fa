import { Redis, type RedisOptions } from 'ioredis';
import {
  type CacheBus,
  type Invalidation,
  type InvalidationHandler,
  MAX_HASHES_PER_MESSAGE,
} from '../../core/cache-bus/index.js';

export const INVALIDATION_CHANNEL = 'keyward:invalidate';
const PUBLISH_TIMEOUT_MS = 1_000;
/** Undelivered invalidations kept for re-sending; beyond this the oldest are dropped. */
const MAX_PENDING = 10_000;
/** Each connection must answer a PING within this period, or it is dropped and re-established. */
const HEARTBEAT_MS = 1_000;

export interface RedisCacheBusOptions {
  /** Told about failures to deliver an invalidation to other nodes (the local node applied it). */
  onPublishError?: (err: Error) => void;
  /** Told about connection errors; they are retried without end. */
  onError?: (err: Error) => void;
}

function isInvalidation(v: unknown): v is Invalidation {
  const m = v as { kind?: unknown; hash?: unknown; hashes?: unknown } | null;
  if (m?.kind === 'keys')
    return (
      Array.isArray(m.hashes) &&
      m.hashes.length <= MAX_HASHES_PER_MESSAGE &&
      m.hashes.every((h) => typeof h === 'string' && h.length <= 128)
    );
  return (m?.kind === 'key' || m?.kind === 'root_key') && typeof m.hash === 'string' && m.hash.length <= 128;
}

/**
 * Invalidations over Redis pub/sub, for many nodes. A node counts as healthy only while its
 * subscription is live: pub/sub drops messages sent while a subscriber is disconnected, so
 * between a drop and the resubscription the node's caches must not be trusted.
 */
export class RedisCacheBus implements CacheBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers: InvalidationHandler[] = [];
  private readonly healthListeners: ((healthy: boolean) => void)[] = [];
  private subscribed = false;
  private closed = false;
  /** Invalidations not yet delivered to Redis, re-sent as soon as the publishing connection is back. */
  private readonly pending = new Map<string, Invalidation>();
  private readonly heartbeat: NodeJS.Timeout;
  private beating = false;

  constructor(
    url: string,
    private readonly options: RedisCacheBusOptions = {},
  ) {
    const common: RedisOptions = {
      // Reconnect forever, backing off to 1 s; never give up on the bus.
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
      connectTimeout: 2_000,
      lazyConnect: false,
    };
    this.pub = new Redis(url, { ...common, maxRetriesPerRequest: 2, enableOfflineQueue: false });
    this.sub = new Redis(url, { ...common, maxRetriesPerRequest: null, autoResubscribe: false });
    this.pub.on('error', (err: Error) => options.onError?.(err));
    this.sub.on('error', (err: Error) => options.onError?.(err));
    this.sub.on('message', (_channel: string, text: string) => this.deliver(text));
    this.sub.on('ready', () => {
      this.sub.subscribe(INVALIDATION_CHANNEL).then(
        () => this.setHealthy(true),
        (err: Error) => {
          options.onError?.(err);
          this.sub.disconnect(true);
        },
      );
    });
    for (const event of ['close', 'end', 'reconnecting']) this.sub.on(event, () => this.setHealthy(false));
    this.pub.on('ready', () => void this.flushPending());
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /**
   * A connection that is half open (a partition, a failover without a reset) looks live but
   * carries nothing: a subscription in that state would miss invalidations while the node
   * trusts its cache. Each connection must answer a PING within the heartbeat period; one that
   * does not is dropped (the node stops trusting its cache) and re-established.
   */
  private async beat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = true;
    try {
      await Promise.all([
        this.subscribed ? this.probe(this.sub, () => this.setHealthy(false)) : undefined,
        this.pub.status === 'ready' ? this.probe(this.pub) : undefined,
      ]);
    } finally {
      this.beating = false;
    }
  }

  private async probe(conn: Redis, onDead?: () => void): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        conn.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('redis did not answer a heartbeat')), HEARTBEAT_MS);
        }),
      ]);
    } catch (err) {
      if (this.closed) return;
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      onDead?.();
      conn.disconnect(true);
    } finally {
      clearTimeout(timer);
    }
  }

  get healthy(): boolean {
    return this.subscribed;
  }

  onHealthChange(listener: (healthy: boolean) => void): void {
    this.healthListeners.push(listener);
  }

  private setHealthy(healthy: boolean): void {
    if (this.subscribed === healthy || (healthy && this.closed)) return;
    this.subscribed = healthy;
    for (const l of this.healthListeners) l(healthy);
  }

  private deliver(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isInvalidation(message)) return;
    for (const h of this.handlers) h(message);
  }

  async publish(message: Invalidation): Promise<void> {
    // Local first: this node is clean before the caller is answered, whatever Redis does.
    for (const h of this.handlers) h(message);
    if (this.closed) return;
    try {
      await this.send(message, Date.now() + PUBLISH_TIMEOUT_MS);
    } catch (err) {
      // Kept and re-sent when the publishing connection is back, so a node still subscribed
      // hears of the change late rather than never. Nodes whose subscription is down already
      // distrust their caches and drop them when it returns.
      this.defer(message);
      this.options.onPublishError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async send(message: Invalidation, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('publish timed out')), Math.max(0, deadline - Date.now()));
    });
    try {
      // Only the publishing connection dropped while our subscription is live (Redis is up: an
      // idle-client timeout, a CLIENT KILL, a reset): it reconnects within a retry step, so wait
      // for it rather than let other nodes keep a stale "valid" answer.
      if (this.pub.status !== 'ready' && this.subscribed) await Promise.race([this.pubReady(), timeout]);
      await Promise.race([this.pub.publish(INVALIDATION_CHANNEL, JSON.stringify(message)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the publishing connection is ready; rejects if our subscription drops meanwhile. */
  private pubReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.pub.off('ready', onReady);
        const i = this.healthListeners.indexOf(onHealth);
        if (i >= 0) this.healthListeners.splice(i, 1);
      };
      const onReady = () => {
        done();
        resolve();
      };
      const onHealth = (healthy: boolean) => {
        if (healthy) return;
        done();
        reject(new Error('redis is unreachable'));
      };
      this.pub.on('ready', onReady);
      this.healthListeners.push(onHealth);
    });
  }

  private defer(message: Invalidation): void {
    const id =
      message.kind === 'keys' ? `keys:${message.hashes.join(',')}` : `${message.kind}:${message.hash}`;
    this.pending.delete(id);
    this.pending.set(id, message);
    if (this.pending.size > MAX_PENDING) {
      const oldest = this.pending.keys().next();
      if (!oldest.done) this.pending.delete(oldest.value);
    }
  }

  private async flushPending(): Promise<void> {
    for (const [id, message] of [...this.pending]) {
      if (this.closed || this.pub.status !== 'ready') return;
      try {
        await this.pub.publish(INVALIDATION_CHANNEL, JSON.stringify(message));
        // A newer deferral of the same message stays pending only if it came after this send.
        if (this.pending.get(id) === message) this.pending.delete(id);
      } catch {
        return; // still pending; the next 'ready' tries again
      }
    }
  }

  subscribe(handler: InvalidationHandler): void {
    this.handlers.push(handler);
  }

  /** Resolves once the subscription is live (or after `timeoutMs`, whichever is first). */
  async ready(timeoutMs = 5_000): Promise<boolean> {
    if (this.subscribed) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onHealthChange((h) => {
        if (h) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.setHealthy(false);
    this.handlers.length = 0;
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
