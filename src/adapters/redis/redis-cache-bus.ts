import { Redis, type RedisOptions } from 'ioredis';
import type { CacheBus, Invalidation, InvalidationHandler } from '../../core/cache-bus/index.js';

export const INVALIDATION_CHANNEL = 'keyward:invalidate';
const PUBLISH_TIMEOUT_MS = 1_000;

export interface RedisCacheBusOptions {
  /** Told about failures to deliver an invalidation to other nodes (the local node applied it). */
  onPublishError?: (err: Error) => void;
  /** Told about connection errors; they are retried without end. */
  onError?: (err: Error) => void;
}

function isInvalidation(v: unknown): v is Invalidation {
  const m = v as { kind?: unknown; hash?: unknown } | null;
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
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pub.publish(INVALIDATION_CHANNEL, JSON.stringify(message)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('publish timed out')), PUBLISH_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      // Other nodes whose subscription is down already distrust their caches; those still
      // subscribed to a Redis we cannot reach see the change within their cache TTL at worst.
      this.options.onPublishError?.(err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
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
    this.setHealthy(false);
    this.handlers.length = 0;
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
