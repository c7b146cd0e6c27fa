import { type CallContext, denied } from '../root-keys/index.js';
import type { RateLimiter } from './rate-limiter.js';

export interface StandaloneLimitRequest {
  /** What is limited (`login`, `sms`…): letters, digits, `_`, `.`, `-`. */
  namespace: string;
  /** Who is limited: a user id, an IP… */
  identifier: string;
  limit: number;
  windowMs: number;
  cost?: number | undefined;
}

export interface StandaloneLimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  resetAt: number;
}

/** `POST /v1/ratelimit`: the same engine as key limits, for any identifier of a workspace. */
export class StandaloneLimits {
  constructor(private readonly limiter: RateLimiter) {}

  async limit(ctx: CallContext, req: StandaloneLimitRequest): Promise<StandaloneLimitResult> {
    if (!ctx.principal.permissions.has('ratelimit.limit')) throw denied('ratelimit.limit');
    // The namespace cannot contain ':', so workspace, namespace and identifier never run together.
    const id = `ns:${ctx.principal.workspaceId}:${req.namespace}:${req.identifier}`;
    const decision = await this.limiter.limit(
      id,
      [{ name: req.namespace, limit: req.limit, windowMs: req.windowMs }],
      req.cost ?? 1,
    );
    const r = decision.results[0];
    return {
      success: decision.success,
      limit: req.limit,
      remaining: r?.remaining ?? 0,
      resetAt: r?.resetAt ?? 0,
    };
  }
}
