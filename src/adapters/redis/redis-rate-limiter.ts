import { createHash, randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { Command, Redis } from 'ioredis';
import type { Clock } from '../../core/clock/index.js';
import type { LimitDecision, RateLimiter } from '../../core/ratelimit/index.js';
import { MemoryRateLimiter } from '../../core/ratelimit/index.js';
import type { RateLimitSpec } from '../../core/store/index.js';
import { decisionsFromReply, SLIDING_LOG_SCRIPT } from './sliding-log-script.js';

const NODES_KEY = 'keyward:nodes';
const HEARTBEAT_MS = 5_000;
const NODE_TTL_MS = 15_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 500;

/** Requests of one identifier in one call at most; more go in the next call, in order. */
const MAX_BATCH = 64;
/** Script calls per socket write. */
const WRITE_CHUNK = 16;

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
  /**
   * How long a call waits for Redis (ms, default 500) before it fails and the request is
   * decided on the node's fallback share — which also starts an outage (see below).
   */
  commandTimeoutMs?: number;
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
 * Redis), so the nodes together still never admit more than `limit` per window — with two
 * rules at the edges of an outage, without which a window straddling one could admit twice
 * the limit (docs/ratelimits.md, "When Redis is unreachable"):
 *
 * - **Start**: for one window after this node last heard from Redis, a limit admits nothing:
 *   Redis may have admitted up to `limit` in that window, which no node can see any more. A
 *   call that fails or times out counts as the start of an outage (it may have spent on Redis).
 * - **End**: for one window after Redis answers again, a request must pass both Redis and the
 *   node's share, which still holds what the node admitted without Redis (Redis never saw it).
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly fallback: MemoryRateLimiter;
  private readonly nodeId = randomUUID();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly sha = createHash('sha1').update(SLIDING_LOG_SCRIPT).digest('hex');
  private knownNodes = 1;
  private up = false;
  /** When Redis last decided a call for this node (at start: now, as nothing is known). */
  private lastContact: number;
  /** Whether the last decision was made without Redis. */
  private outage = false;
  /** When Redis answered again after an outage; null before the first one. */
  private recoveredAt: number | null = null;
  private pending = new Map<string, Batch>();
  private displaced: Batch[] = [];
  private scheduled = false;

  constructor(
    url: string,
    private readonly clock: Clock,
    private readonly options: RedisRateLimiterOptions = {},
  ) {
    this.fallback = new MemoryRateLimiter(clock);
    this.lastContact = clock.now();
    this.redis = new Redis(url, {
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
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
    if (!this.up) return Promise.resolve(this.withoutRedis(identifier, limits, cost));
    if (this.outage || this.recoveredAt !== null) {
      // Just after an outage: the node's share must admit it too (it spends there first; a
      // request Redis then refuses leaves the share counting one too many, never too few).
      // That includes the calls made before Redis's first answer, which ends the outage.
      const shared = this.afterOutage(identifier, limits, cost);
      if (shared !== null && !shared.success) return Promise.resolve(shared);
    }
    let batch = this.pending.get(identifier);
    if (batch === undefined || batch.costs.length === MAX_BATCH || !sameLimits(batch.limits, limits)) {
      // A full batch, or another set of limits for this identifier: a call of its own, sent
      // after the one before it, so the identifier's requests are still decided in order.
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
   * in one hash slot, never mixed with another's), WRITE_CHUNK calls to a socket write: a write
   * costs several times what building a call does, and Redis can start on the first chunk
   * while the rest are being built.
   */
  private readonly flush = (): void => {
    this.scheduled = false;
    const stream: Writable | undefined = this.redis.stream;
    const batches =
      this.displaced.length > 0 ? [...this.displaced, ...this.pending.values()] : this.pending.values();
    let sent = 0;
    stream?.cork();
    for (const b of batches) {
      // Each send writes its command synchronously, so it lands in the cork.
      this.send(b);
      if (++sent % WRITE_CHUNK === 0) {
        stream?.uncork();
        stream?.cork();
      }
    }
    stream?.uncork();
    this.displaced = [];
    this.pending.clear();
  };

  private send(b: Batch): void {
    const { identifier, limits, costs } = b;
    const args: (string | number)[] = [this.sha, limits.length];
    // One hash tag per identifier keeps all its limits in one cluster slot. `list`: the layout
    // of sliding-log-script.ts; the earlier sorted-set layout used `log` and `total`.
    for (const l of limits) args.push(`kw:rl:{${identifier}}:${l.name}:${l.windowMs}:list`);
    args.push(costs.length);
    for (const c of costs) args.push(c);
    for (const l of limits) args.push(l.limit, l.windowMs);
    // A Command sent as it is: none of the argument juggling of ioredis's generic entry points.
    this.run('evalsha', args).then(
      (reply) => this.settle(b, reply),
      (err: unknown) => {
        // Redis forgot the script (a restart, SCRIPT FLUSH): EVAL loads it again.
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) {
          this.fail(b, err);
          return;
        }
        args[0] = SLIDING_LOG_SCRIPT;
        this.run('eval', args).then(
          (reply) => this.settle(b, reply),
          (e: unknown) => this.fail(b, e),
        );
      },
    );
  }

  private run(command: 'evalsha' | 'eval', args: (string | number)[]): Promise<unknown> {
    return this.redis.sendCommand(new Command(command, args)) as Promise<unknown>;
  }

  private settle(b: Batch, reply: unknown): void {
    if (!Array.isArray(reply)) {
      this.fail(b, new Error('unexpected reply from the rate-limit script'));
      return;
    }
    const decisions = decisionsFromReply(b.limits, b.costs, reply);
    this.lastContact = this.clock.now();
    if (this.outage) {
      this.outage = false;
      this.recoveredAt = this.lastContact;
    }
    for (let j = 0; j < b.settle.length; j++) b.settle[j]?.(decisions[j] as LimitDecision);
  }

  /** Redis failed or timed out: these requests are decided without it, in order. */
  private fail(b: Batch, err: unknown): void {
    this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    for (let j = 0; j < b.settle.length; j++)
      b.settle[j]?.(this.withoutRedis(b.identifier, b.limits, b.costs[j] ?? 0));
  }

  /**
   * A decision without Redis: nothing for one window after the last contact (what Redis
   * admitted in it is unknown), then this node's share of each limit.
   */
  private withoutRedis(identifier: string, limits: readonly RateLimitSpec[], cost: number): LimitDecision {
    this.outage = true;
    const now = this.clock.now();
    if (limits.some((l) => now < this.lastContact + l.windowMs))
      return {
        success: false,
        results: limits.map((l) => ({
          name: l.name,
          limit: l.limit,
          remaining: 0,
          resetAt: Math.max(now, this.lastContact + l.windowMs),
        })),
      };
    return this.fallback.decide(identifier, limits, cost, 1 / this.knownNodes);
  }

  /** The share's decision while a window since the end of an outage is open; null after. */
  private afterOutage(
    identifier: string,
    limits: readonly RateLimitSpec[],
    cost: number,
  ): LimitDecision | null {
    const now = this.clock.now();
    // Connected again but not answered yet: the window after the outage has not even begun.
    const since = this.outage ? now : (this.recoveredAt ?? 0);
    if (!limits.some((l) => now < since + l.windowMs)) return null;
    return this.fallback.decide(identifier, limits, cost, 1 / this.knownNodes);
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
