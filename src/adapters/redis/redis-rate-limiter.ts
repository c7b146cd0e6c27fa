import { createHash, randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type { Clock } from '../../core/clock/index.js';
import type { LimitDecision, RateLimiter } from '../../core/ratelimit/index.js';
import { MemoryRateLimiter } from '../../core/ratelimit/index.js';
import type { RateLimitSpec } from '../../core/store/index.js';
import { decisionsFromReply, SLIDING_LOG_SCRIPT } from './sliding-log-script.js';

const NODES_KEY = 'keyward:nodes';
const HEARTBEAT_MS = 5_000;
const NODE_TTL_MS = 15_000;
const COMMAND_TIMEOUT_MS = 500;

/** Requests of one identifier in one call at most; more go in the next call, in order. */
const MAX_BATCH = 64;

/** The requests of one identifier, with the same limits, asked for in one event-loop turn. */
interface Batch {
  identifier: string;
  limits: readonly RateLimitSpec[];
  costs: number[];
  settle: ((decision: LimitDecision) => void)[];
}

function sameLimits(a: readonly RateLimitSpec[], b: readonly RateLimitSpec[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((l, i) => l.name === b[i]?.name && l.limit === b[i]?.limit && l.windowMs === b[i]?.windowMs);
}

export interface RedisRateLimiterOptions {
  onHealthChange?: (healthy: boolean) => void;
  onError?: (err: Error) => void;
}

/**
 * The shared engine: one Lua script call decides, so check and spend of every limit of a call
 * happen atomically on Redis with Redis's clock — no read-then-write race across nodes.
 *
 * Requests for one identifier made in the same event-loop turn share one script call, which
 * decides them one after another at one instant, so each gets the answer it would have had
 * alone; only the round trip is shared. A hot key under load costs Redis one call per turn.
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
  private readonly sha = createHash('sha1').update(SLIDING_LOG_SCRIPT).digest('hex');
  private knownNodes = 1;
  private up = false;
  private pending = new Map<string, Batch>();
  private displaced: Batch[] = [];
  private scheduled = false;

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

  limit(identifier: string, limits: readonly RateLimitSpec[], cost: number): Promise<LimitDecision> {
    if (limits.length === 0) return Promise.resolve({ success: true, results: [] });
    if (!this.up) return Promise.resolve(this.fallback.decide(identifier, limits, cost, 1 / this.knownNodes));
    let batch = this.pending.get(identifier);
    if (batch === undefined || batch.costs.length === MAX_BATCH || !sameLimits(batch.limits, limits)) {
      // Another set of limits for the same identifier: its own call, sent after this one.
      if (batch !== undefined) this.displaced.push(batch);
      batch = { identifier, limits, costs: [], settle: [] };
      this.pending.set(identifier, batch);
    }
    batch.costs.push(cost);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    const settle = batch.settle;
    return new Promise((resolve) => settle.push(resolve));
  }

  /**
   * Sends what this event-loop turn asked for: one script call per identifier (all its limits
   * in one hash slot, never mixed with another's), all of them in one socket write.
   */
  private readonly flush = (): void => {
    this.scheduled = false;
    const batches = [...this.displaced, ...this.pending.values()];
    this.displaced = [];
    this.pending.clear();
    const stream: Writable | undefined = this.redis.stream;
    stream?.cork();
    // Each send writes its command before its first await, so all of them land in the cork.
    for (const b of batches) void this.send(b);
    stream?.uncork();
  };

  private async send(b: Batch): Promise<void> {
    const { identifier, limits, costs } = b;
    const args: (string | number)[] = [this.sha, limits.length];
    // One hash tag per identifier keeps all its limits in one cluster slot. `list`: the layout
    // of sliding-log-script.ts; the earlier sorted-set layout used `log` and `total`.
    for (const l of limits) args.push(`kw:rl:{${identifier}}:${l.name}:${l.windowMs}:list`);
    args.push(costs.length, ...costs);
    for (const l of limits) args.push(l.limit, l.windowMs);
    let decisions: LimitDecision[];
    try {
      decisions = decisionsFromReply(limits, costs, await this.evaluate(args));
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      const share = 1 / this.knownNodes;
      decisions = costs.map((cost) => this.fallback.decide(identifier, limits, cost, share));
    }
    for (const [j, settle] of b.settle.entries()) settle(decisions[j] as LimitDecision);
  }

  /** EVALSHA, and EVAL once when Redis does not know the script (after a restart or FLUSH). */
  private async evaluate(args: (string | number)[]): Promise<number[]> {
    let reply: unknown;
    try {
      reply = await this.redis.call('evalsha', args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      reply = await this.redis.call('eval', [SLIDING_LOG_SCRIPT, ...args.slice(1)]);
    }
    if (!Array.isArray(reply)) throw new Error('unexpected reply from the rate-limit script');
    return reply as number[];
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    if (this.scheduled) this.flush();
    try {
      if (this.up) await this.redis.zrem(NODES_KEY, this.nodeId);
    } catch {}
    this.redis.disconnect();
    await this.fallback.close();
  }
}
