import type { Clock } from '../clock/index.js';
import type { RateLimitSpec } from '../store/index.js';
import type { LimitDecision, LimitResult, RateLimiter } from './rate-limiter.js';

/** The admitted requests still inside one limit's window: a sliding log with a running total. */
interface Log {
  times: number[];
  costs: number[];
  /** Index of the first live entry; entries before it have left the window. */
  head: number;
  total: number;
  windowMs: number;
}

function prune(log: Log, now: number): void {
  const cutoff = now - log.windowMs;
  while (log.head < log.times.length && (log.times[log.head] ?? 0) <= cutoff) {
    log.total -= log.costs[log.head] ?? 0;
    log.head++;
  }
  // Compact once the dead prefix dominates, so memory stays proportional to the live window.
  if (log.head > 1024 && log.head * 2 > log.times.length) {
    log.times = log.times.slice(log.head);
    log.costs = log.costs.slice(log.head);
    log.head = 0;
  }
}

function resetAt(log: Log, now: number): number {
  const oldest = log.times[log.head];
  return oldest === undefined ? now : oldest + log.windowMs;
}

/**
 * The in-process engine, for one node (and the fallback of the Redis engine). JavaScript runs
 * one decision at a time, so check-then-spend is atomic here without a lock.
 */
export class MemoryRateLimiter implements RateLimiter {
  /** identifier → limit name → log; nested so that a decision builds no composite key string. */
  private readonly logs = new Map<string, Map<string, Log>>();
  readonly healthy = true;
  private sweeps = 0;

  constructor(private readonly clock: Clock) {}

  async limit(identifier: string, limits: readonly RateLimitSpec[], cost: number): Promise<LimitDecision> {
    return this.decide(identifier, limits, cost);
  }

  /** Synchronous core, shared with the Redis engine's fallback. */
  decide(identifier: string, limits: readonly RateLimitSpec[], cost: number, scale = 1): LimitDecision {
    const now = this.clock.now();
    let byName = this.logs.get(identifier);
    if (byName === undefined) {
      byName = new Map();
      this.logs.set(identifier, byName);
    }
    const logs: Log[] = [];
    let success = true;
    for (const spec of limits) {
      let log = byName.get(spec.name);
      if (!log || log.windowMs !== spec.windowMs) {
        log = { times: [], costs: [], head: 0, total: 0, windowMs: spec.windowMs };
        byName.set(spec.name, log);
      }
      prune(log, now);
      logs.push(log);
      const cap = Math.floor(spec.limit * scale);
      if (cost > 0 ? log.total + cost > cap : log.total >= cap) success = false;
    }
    if (success && cost > 0) {
      for (const log of logs) {
        // Admissions of one millisecond leave the window together: one entry holds them all.
        const last = log.times.length - 1;
        if (last >= log.head && log.times[last] === now) log.costs[last] = (log.costs[last] ?? 0) + cost;
        else {
          log.times.push(now);
          log.costs.push(cost);
        }
        log.total += cost;
      }
    }
    const results: LimitResult[] = limits.map((spec, i) => {
      const log = logs[i] as Log;
      const cap = Math.floor(spec.limit * scale);
      return {
        name: spec.name,
        limit: spec.limit,
        remaining: Math.max(0, cap - log.total),
        resetAt: resetAt(log, now),
      };
    });
    if (++this.sweeps % 10_000 === 0) this.sweep(now);
    return { success, results };
  }

  /** Drops logs whose window has emptied, so idle identifiers cost no memory. */
  private sweep(now: number): void {
    for (const [identifier, byName] of this.logs) {
      for (const [name, log] of byName) {
        prune(log, now);
        if (log.total === 0) byName.delete(name);
      }
      if (byName.size === 0) this.logs.delete(identifier);
    }
  }

  async close(): Promise<void> {
    this.logs.clear();
  }
}
