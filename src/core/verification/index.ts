export { type IpRange, inRanges, parseAddress, parseRange } from './ip-ranges.js';
export { normalizeOrigin, parseOriginRestriction } from './origins.js';
export {
  compileGrant,
  evaluate,
  GRANTED_SCOPE_PATTERN,
  grants,
  MAX_EXPRESSION_LENGTH,
  parseScopeExpression,
  SCOPE_NAME_PATTERN,
  type ScopeExpression,
} from './scopes.js';
export { TtlCache } from './ttl-cache.js';
export { LATENCY_BOUNDS_US, VERIFY_CODES, VerificationStats } from './verification-stats.js';
export {
  DEFAULT_VERIFIER_OPTIONS,
  Verifier,
  type VerifierOptions,
  type VerifyCode,
  type VerifyRequest,
  type VerifyResult,
} from './verifier.js';
