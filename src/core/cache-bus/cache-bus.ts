/**
 * What a node must drop from its caches. Published after a change commits and applied by every
 * node (this one included) before the change is acknowledged to the caller.
 */
export type Invalidation =
  | { kind: 'key'; hash: string }
  | { kind: 'root_key'; hash: string }
  /** Many keys at once (bulk revocation), at most MAX_HASHES_PER_MESSAGE per message. */
  | { kind: 'keys'; hashes: string[] };

export const MAX_HASHES_PER_MESSAGE = 1000;

export type InvalidationHandler = (message: Invalidation) => void;

/** The cache bus port: in-process for one node, Redis pub/sub for many (a later adapter). */
export interface CacheBus {
  /** Applies the invalidation on this node, then sends it to every other node. */
  publish(message: Invalidation): Promise<void>;
  subscribe(handler: InvalidationHandler): void;
  /**
   * Whether this node is sure to hear every invalidation. While false, caches must not trust
   * what they hold (fail safe, not fail stale); when it turns true again, what they hold may
   * have missed messages and must be dropped.
   */
  readonly healthy: boolean;
  onHealthChange(listener: (healthy: boolean) => void): void;
  close(): Promise<void>;
}

/** One node: delivery is a synchronous call, so the local cache is clean when publish returns. */
export class InProcessCacheBus implements CacheBus {
  private readonly handlers: InvalidationHandler[] = [];
  readonly healthy = true;

  onHealthChange(): void {}

  async publish(message: Invalidation): Promise<void> {
    for (const h of this.handlers) h(message);
  }

  subscribe(handler: InvalidationHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
