import type { CacheBus } from '../cache-bus/index.js';
import type { Clock } from '../clock/index.js';
import { invalid } from '../errors/index.js';
import { hashKey, hasValidChecksum } from '../keys/key-format.js';
import { denied, type Principal } from '../root-keys/index.js';
import type { KeyRecord, Store } from '../store/index.js';
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
  | { valid: boolean; code: VerifyCode; key: KeyRecord };

/** A cached key with its restrictions compiled once, so a cache hit does no parsing. */
interface CachedKey {
  record: KeyRecord;
  grant: ScopeGrant;
  ranges: IpRange[] | null;
  origins: ReadonlySet<string> | null;
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

function compile(record: KeyRecord): CachedKey {
  const { ips, origins } = record.restrictions;
  return {
    record,
    grant: compileGrant(record.scopes),
    ranges: ips.length > 0 ? ips.map(parseRange) : null,
    origins: origins.length > 0 ? new Set(origins) : null,
  };
}

/**
 * The verification hot path: checksum → cache → one indexed read on a miss → the checks in the
 * order DESIGN.md fixes: revoked → disabled → expired → IP/origin → scopes → rate limits → credits.
 */
export class Verifier {
  private readonly cache: TtlCache<CachedKey | null>;
  private readonly expressions = new ScopeExpressionCache();

  constructor(
    private readonly store: Store,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    private readonly options: VerifierOptions = DEFAULT_VERIFIER_OPTIONS,
  ) {
    this.cache = new TtlCache(options.cacheSize, clock);
    bus.subscribe((m) => {
      if (m.kind === 'key') this.cache.delete(m.hash);
    });
    // Losing the bus means invalidations may be lost; regaining it means some already were.
    // Either way what the cache holds can no longer be trusted.
    bus.onHealthChange(() => this.cache.clear());
  }

  async verify(principal: Principal, req: VerifyRequest): Promise<VerifyResult> {
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

    if (!hasValidChecksum(req.key)) return NOT_FOUND;
    const entry = await this.lookup(hashKey(req.key));
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
    const code = this.check(entry, ip, origin, expression);
    return { valid: code === 'VALID', code, key: record };
  }

  private check(
    entry: CachedKey,
    ip: bigint | null,
    origin: string | null,
    expr: ScopeExpression | null,
  ): VerifyCode {
    const { record } = entry;
    if (record.status === 'revoked') return 'REVOKED';
    if (record.status === 'disabled') return 'DISABLED';
    if (record.expiresAt !== null && record.expiresAt <= this.clock.now()) return 'EXPIRED';
    // Restrictions fail closed: a restricted key verified without the caller's IP or origin is refused.
    if (entry.ranges && (ip === null || !inRanges(ip, entry.ranges))) return 'FORBIDDEN';
    if (entry.origins && (origin === null || !entry.origins.has(origin))) return 'FORBIDDEN';
    if (expr && !evaluate(expr, entry.grant)) return 'INSUFFICIENT_SCOPES';
    // Rate limits, then credits, take their place here (spent only when everything above passed).
    return 'VALID';
  }

  private async lookup(hash: string): Promise<CachedKey | null> {
    // Fail safe, not fail stale: without a live bus every verification reads the store.
    if (!this.bus.healthy) {
      const record = await this.store.getKeyByHash(hash);
      return record ? compile(record) : null;
    }
    const cached = this.cache.get(hash);
    if (cached !== undefined) return cached;
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
