import type { CacheBus } from '../cache-bus/index.js';
import type { Clock } from '../clock/index.js';
import { nextRefillAt, refillPeriodStart } from '../credits/index.js';
import { invalid } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { hashKey, hasValidChecksum } from '../keys/key-format.js';
import {
  type LimitDecision,
  type LimitResult,
  MemoryRateLimiter,
  type RateLimiter,
} from '../ratelimit/index.js';
import { denied, type Principal } from '../root-keys/index.js';
import type { Credits, KeyRecord, KeyWithCredits, Store, StoreOps } from '../store/index.js';
import type { UsageSink } from '../usage/index.js';
import { type IpRange, inRanges, parseAddress, parseRange } from './ip-ranges.js';
import { normalizeOrigin } from './origins.js';
import {
  compileGrant,
  evaluate,
  type ScopeExpression,
  ScopeExpressionCache,
  type ScopeGrant,
} from './scopes.js';
import { TtlCache } from './ttl-cache.js';
import { VerificationStats } from './verification-stats.js';

export type VerifyCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'DISABLED'
  | 'REVOKED'
  | 'EXPIRED'
  | 'FORBIDDEN'
  | 'INSUFFICIENT_SCOPES'
  | 'RATE_LIMITED'
  | 'USAGE_EXCEEDED';

export interface VerifyRequest {
  key: string;
  keyspaceId?: string | undefined;
  scopes?: string | undefined;
  cost?: number | undefined;
  ip?: string | undefined;
  origin?: string | undefined;
  resource?: string | undefined;
}

/** An expected outcome, never an exception: `valid` is true exactly when `code` is `VALID`. */
export type VerifyResult =
  | { valid: false; code: 'NOT_FOUND' }
  | {
      valid: boolean;
      code: VerifyCode;
      key: KeyRecord;
      /** Each limit's state, when the key has rate limits and they were consulted. */
      ratelimits?: LimitResult[];
      /** The balance after this verification, when the key has credits and they were consulted. */
      credits?: { remaining: number };
    };

/** A cached key with its restrictions compiled once, so a cache hit does no parsing. */
interface CachedKey {
  record: KeyRecord;
  /** The credit settings (the balance itself is never cached: it lives in the store). */
  credits: Omit<Credits, 'remaining'> | null;
  grant: ScopeGrant;
  ranges: IpRange[] | null;
  origins: ReadonlySet<string> | null;
  /** The rate-limit identifier of the key's lineage, built once instead of per verification. */
  limitId: string;
}

export interface VerifierOptions {
  cacheSize: number;
  /** How long a found key is trusted without a store read; invalidations end it sooner. */
  cacheTtlMs: number;
  /** How long an unknown hash is remembered as unknown. */
  negativeTtlMs: number;
}

export const DEFAULT_VERIFIER_OPTIONS: VerifierOptions = {
  cacheSize: 100_000,
  cacheTtlMs: 60_000,
  negativeTtlMs: 2_000,
};

const NOT_FOUND: VerifyResult = { valid: false, code: 'NOT_FOUND' };

function compile(withCredits: KeyWithCredits): CachedKey {
  const { credits, ...record } = withCredits;
  const { ips, origins } = record.restrictions;
  return {
    record,
    credits: credits
      ? {
          refill: credits.refill,
          ...(credits.lowThreshold !== undefined ? { lowThreshold: credits.lowThreshold } : {}),
        }
      : null,
    grant: compileGrant(record.scopes),
    ranges: ips.length > 0 ? ips.map(parseRange) : null,
    origins: origins.length > 0 ? new Set(origins) : null,
    limitId: `key:${record.lineageId}`,
  };
}

/**
 * The verification hot path: checksum → cache → one indexed read on a miss → the checks in the
 * order DESIGN.md fixes: revoked → disabled → expired → IP/origin → scopes → rate limits → credits.
 */
export class Verifier {
  private readonly cache: TtlCache<CachedKey | null>;
  private readonly expressions = new ScopeExpressionCache();
  /**
   * Per lineage and refill schedule: until when no refill can be due, so most spends skip the
   * refill statement. The schedule is part of the key because a PATCH that changes it (monthly
   * to daily, another day of the month) must not wait out the period of the old schedule.
   */
  private readonly refillCheckedUntil = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    private readonly limiter: RateLimiter,
    private readonly options: VerifierOptions = DEFAULT_VERIFIER_OPTIONS,
  ) {
    this.cache = new TtlCache(options.cacheSize, clock);
    bus.subscribe((m) => {
      if (m.kind === 'key') this.cache.delete(m.hash);
      else if (m.kind === 'keys') for (const h of m.hashes) this.cache.delete(h);
    });
    // Losing the bus means invalidations may be lost; regaining it means some already were.
    // Either way what the cache holds can no longer be trusted.
    bus.onHealthChange(() => this.cache.clear());
  }

  /** Where usage events go; none until the usage recorder is attached. */
  private usage: UsageSink | null = null;

  attachUsage(sink: UsageSink): void {
    this.usage = sink;
  }

  /** Counters for the metrics endpoint: plain increments here, read when scraped. */
  readonly stats = new VerificationStats();

  /**
   * Verifies a key. A key decided from the cache alone (no credits; no rate limits, or
   * in-process ones) is answered synchronously, as a plain result: a promise would cost a
   * tenth of such a verification. Anything that needs the store or Redis answers a promise.
   * `await` takes either; bad input throws (synchronously, or as a rejection on the async path).
   */
  verify(principal: Principal, req: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    // One clock read times the verification and gives the time the cache, the expiry check and
    // the usage event use: on some virtual machines a clock read costs a tenth of a verification.
    const started = performance.now();
    const now = this.clock.nowAt(started);
    const decided = this.decide(principal, req, now);
    if (decided instanceof Promise)
      return decided.then((result) => this.finish(principal, req, started, now, result));
    return this.finish(principal, req, started, now, decided);
  }

  /** Counts the verification and records its usage event. */
  private finish(
    principal: Principal,
    req: VerifyRequest,
    started: number,
    now: number,
    result: VerifyResult,
  ): VerifyResult {
    const latencyUs = Math.round((performance.now() - started) * 1000);
    this.stats.count(result.code, latencyUs);
    const usage = this.usage;
    if (usage !== null) {
      const key = 'key' in result ? result.key : null;
      usage.record({
        at: now,
        keyId: key === null ? null : key.id,
        keyspaceId: key === null ? null : key.keyspaceId,
        workspaceId: principal.workspaceId,
        code: result.code,
        ip: req.ip ?? null,
        origin: req.origin ?? null,
        resource: req.resource ?? null,
        latencyUs,
      });
    }
    return result;
  }

  private decide(
    principal: Principal,
    req: VerifyRequest,
    now: number,
  ): VerifyResult | Promise<VerifyResult> {
    if (!principal.permissions.hasAny('keys.verify')) throw denied('keys.verify');
    // Bad input is a 400 whatever key it comes with, so parse it before looking anything up.
    const expression = req.scopes !== undefined ? this.expressions.parse(req.scopes) : null;
    const ip = req.ip !== undefined ? parseAddress(req.ip) : null;
    if (req.ip !== undefined && ip === null) throw invalid('/ip', 'is not an IPv4 or IPv6 address');
    let origin: string | null = null;
    if (req.origin !== undefined) {
      origin = normalizeOrigin(req.origin);
      if (origin === null) throw invalid('/origin', 'is not an http(s) origin');
    }

    const hash = hashKey(req.key);
    // A cache hit is a key that exists, so its checksum is right: check it only on a miss, and
    // then before any store access, so made-up keys never reach the database.
    const entry = this.bus.healthy ? this.cache.get(hash, now) : undefined;
    if (entry === undefined) {
      if (!hasValidChecksum(req.key)) return NOT_FOUND;
      this.stats.cacheMisses++;
      // Expiry is judged on the time the key was read, not on the time the verification began.
      return this.load(hash).then((loaded) =>
        this.judge(principal, req, loaded, ip, origin, expression, this.clock.now()),
      );
    }
    this.stats.cacheHits++;
    return this.judge(principal, req, entry, ip, origin, expression, now);
  }

  /** The checks, on the key found (or not) for the presented one. */
  private judge(
    principal: Principal,
    req: VerifyRequest,
    entry: CachedKey | null,
    ip: bigint | null,
    origin: string | null,
    expression: ScopeExpression | null,
    now: number,
  ): VerifyResult | Promise<VerifyResult> {
    if (!entry) return NOT_FOUND;
    const { record } = entry;
    // Another workspace's key, another keyspace's, or one outside a narrowed permission: all
    // look exactly like a key that does not exist.
    if (
      record.workspaceId !== principal.workspaceId ||
      (req.keyspaceId !== undefined && record.keyspaceId !== req.keyspaceId) ||
      !principal.permissions.hasFor('keys.verify', record.keyspaceId)
    ) {
      return NOT_FOUND;
    }
    const code = this.check(entry, ip, origin, expression, now);
    if (code !== 'VALID') return { valid: false, code, key: record };
    if (record.ratelimits.length === 0 && !entry.credits) return { valid: true, code, key: record };
    return this.meter(entry, req.cost ?? 1);
  }

  /**
   * Rate limits, then credits: each is consulted only when everything before it passed, so a
   * refused request spends no credits. Old and new keys of a rotation share one lineage, hence
   * one set of counters and one balance.
   */
  private meter(entry: CachedKey, cost: number): VerifyResult | Promise<VerifyResult> {
    const { record } = entry;
    if (record.ratelimits.length === 0) return this.credit(entry, cost, undefined);
    const identifier = entry.limitId;
    // The in-process engine decides synchronously: no promise to wait for.
    if (this.limiter instanceof MemoryRateLimiter)
      return this.limited(entry, cost, this.limiter.decide(identifier, record.ratelimits, cost));
    return this.limiter
      .limit(identifier, record.ratelimits, cost)
      .then((decision) => this.limited(entry, cost, decision));
  }

  private limited(
    entry: CachedKey,
    cost: number,
    decision: LimitDecision,
  ): VerifyResult | Promise<VerifyResult> {
    const ratelimits = decision.results;
    if (!decision.success) return { valid: false, code: 'RATE_LIMITED', key: entry.record, ratelimits };
    if (!entry.credits) return { valid: true, code: 'VALID', key: entry.record, ratelimits };
    return this.credit(entry, cost, ratelimits);
  }

  private async credit(
    entry: CachedKey,
    cost: number,
    ratelimits: LimitResult[] | undefined,
  ): Promise<VerifyResult> {
    const { record } = entry;
    const limits = ratelimits ? { ratelimits } : {};
    const spent = entry.credits ? await this.spend(record, entry.credits, cost) : undefined;
    if (!spent) return { valid: true, code: 'VALID', key: record, ...limits };
    const credits = { remaining: spent.remaining };
    if (!spent.ok) return { valid: false, code: 'USAGE_EXCEEDED', key: record, credits, ...limits };
    return { valid: true, code: 'VALID', key: record, credits, ...limits };
  }

  private async spend(
    record: KeyRecord,
    settings: Omit<Credits, 'remaining'>,
    cost: number,
  ): Promise<{ ok: boolean; remaining: number } | undefined> {
    const now = this.clock.now();
    let periodStart: number | null = null;
    const refill = settings.refill;
    const schedule = refill ? `${record.lineageId}:${refill.interval}:${refill.day ?? 1}` : '';
    if (refill && now >= (this.refillCheckedUntil.get(schedule) ?? 0)) {
      periodStart = refillPeriodStart(refill, now);
      if (this.refillCheckedUntil.size > 100_000) this.refillCheckedUntil.clear();
      this.refillCheckedUntil.set(schedule, nextRefillAt(refill, now));
    }
    const threshold = settings.lowThreshold;
    if (threshold === undefined || cost === 0)
      return this.store.spendCredits(record.lineageId, cost, periodStart);
    // With a threshold, the spend and its `credits.low` event commit together: exactly one
    // request crosses the threshold, and its event cannot be lost.
    return this.store.transaction(async (tx: StoreOps) => {
      const spent = await tx.spendCredits(record.lineageId, cost, periodStart);
      if (spent?.ok && spent.remaining < threshold && spent.remaining + cost >= threshold) {
        await tx.recordEvent({
          id: newId('event'),
          workspaceId: record.workspaceId,
          type: 'credits.low',
          data: { keyId: record.id, keyspaceId: record.keyspaceId, remaining: spent.remaining, threshold },
          createdAt: now,
        });
      }
      return spent;
    });
  }

  private check(
    entry: CachedKey,
    ip: bigint | null,
    origin: string | null,
    expr: ScopeExpression | null,
    now: number,
  ): VerifyCode {
    const { record } = entry;
    if (record.status === 'revoked') return 'REVOKED';
    if (record.status === 'disabled') return 'DISABLED';
    if (record.expiresAt !== null && record.expiresAt <= now) return 'EXPIRED';
    // Restrictions fail closed: a restricted key verified without the caller's IP or origin is refused.
    if (entry.ranges && (ip === null || !inRanges(ip, entry.ranges))) return 'FORBIDDEN';
    if (entry.origins && (origin === null || !entry.origins.has(origin))) return 'FORBIDDEN';
    if (expr && !evaluate(expr, entry.grant)) return 'INSUFFICIENT_SCOPES';
    return 'VALID';
  }

  /** A cache miss: one indexed read by hash, cached unless an invalidation raced it. */
  private async load(hash: string): Promise<CachedKey | null> {
    // Fail safe, not fail stale: without a live bus every verification reads the store.
    if (!this.bus.healthy) {
      const record = await this.store.getKeyByHash(hash);
      return record ? compile(record) : null;
    }
    const ticket = this.cache.ticket();
    const record = await this.store.getKeyByHash(hash);
    const entry = record ? compile(record) : null;
    this.cache.fill(hash, entry, entry ? this.options.cacheTtlMs : this.options.negativeTtlMs, ticket);
    return entry;
  }

  /** For metrics and tests. */
  get cacheSize(): number {
    return this.cache.size;
  }
}
