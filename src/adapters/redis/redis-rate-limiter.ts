import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock } from '../../core/clock/index.js';
import type { LimitDecision, RateLimiter } from '../../core/ratelimit/index.js';
import { MemoryRateLimiter } from '../../core/ratelimit/index.js';
import type { RateLimitSpec } from '../../core/store/index.js';
import { SLIDING_LOG_SCRIPT } from './sliding-log-script.js';

const NODES_KEY = 'keyward:nodes';
const HEARTBEAT_MS = 5_000;
const NODE_TTL_MS = 15_000;
const COMMAND_TIMEOUT_MS = 500;

type SlidingLog = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

export interface RedisRateLimiterOptions {
  onHealthChange?: (healthy: boolean) => void;
  onError?: (err: Error) => void;
}

/**
 * The shared engine: one Lua script per decision, so check and spend of every limit of a call
 * happen atomically on Redis with Redis's clock — no read-then-write race across nodes.
 *
 * While Redis is unreachable it falls back to an in-process limiter that grants each node
 * `limit / N` of every limit, N being the number of nodes last seen alive (heartbeats in
 * Redis), so the nodes together still never admit more than `limit` per window.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly fallback: MemoryRateLimiter;
  private readonly nodeId = randomUUID();
  private readonly heartbeat: NodeJS.Timeout;
  private knownNodes = 1;
  private up = false;

  constructor(
    url: string,
    clock: Clock,
    private readonly options: RedisRateLimiterOptions = {},
  ) {
    this.fallback = new MemoryRateLimiter(clock);
    this.redis = new Redis(url, {
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    this.redis.defineCommand('keywardSlidingLog', { lua: SLIDING_LOG_SCRIPT });
    this.redis.on('error', (err: Error) => options.onError?.(err));
    this.redis.on('ready', () => {
      void this.beat();
      this.setUp(true);
    });
    for (const event of ['close', 'end', 'reconnecting']) this.redis.on(event, () => this.setUp(false));
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get healthy(): boolean {
    return this.up;
  }

  /** How many nodes share the limits (as last seen); the fallback grants each 1/N. */
  get nodes(): number {
    return this.knownNodes;
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.options.onHealthChange?.(up);
  }

  private async beat(): Promise<void> {
    try {
      const now = Date.now();
      const [, , count] = (await this.redis
        .multi()
        .zadd(NODES_KEY, now, this.nodeId)
        .zremrangebyscore(NODES_KEY, '-inf', now - NODE_TTL_MS)
        .zcard(NODES_KEY)
        .exec()) as [unknown, unknown, [Error | null, number]];
      if (typeof count[1] === 'number') this.knownNodes = Math.max(1, count[1]);
    } catch {
      // Unreachable: keep the last known count for the fallback share.
    }
  }

  /** Resolves once connected (or after `timeoutMs`). */
  async ready(timeoutMs = 3_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.up && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.up;
  }

  async limit(identifier: string, limits: readonly RateLimitSpec[], cost: number): Promise<LimitDecision> {
    if (limits.length === 0) return { success: true, results: [] };
    if (!this.up) return this.fallback.decide(identifier, limits, cost, 1 / this.knownNodes);
    // One hash tag per identifier keeps all its limits in one cluster slot.
    const keys: string[] = [];
    const args: number[] = [cost, limits.length];
    for (const l of limits) {
      const base = `kw:rl:{${identifier}}:${l.name}:${l.windowMs}`;
      keys.push(`${base}:log`, `${base}:total`);
      args.push(l.limit, l.windowMs);
    }
    let out: number[];
    try {
      out = await (this.redis as unknown as { keywardSlidingLog: SlidingLog }).keywardSlidingLog(
        keys.length,
        ...keys,
        ...args,
      );
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      return this.fallback.decide(identifier, limits, cost, 1 / this.knownNodes);
    }
    return {
      success: out[0] === 1,
      results: limits.map((l, i) => ({
        name: l.name,
        limit: l.limit,
        remaining: Number(out[2 + 2 * i]),
        resetAt: Number(out[3 + 2 * i]) + l.windowMs,
      })),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    try {
      if (this.up) await this.redis.zrem(NODES_KEY, this.nodeId);
    } catch {}
    this.redis.disconnect();
    await this.fallback.close();
  }
}
