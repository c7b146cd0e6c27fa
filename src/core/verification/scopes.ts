import { KeywardError } from '../errors/index.js';

export const SCOPE_NAME_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$';
/** A granted scope: a name, `prefix.*` (every scope that starts with `prefix.`), or `*`. */
export const GRANTED_SCOPE_PATTERN = '^(\\*|[A-Za-z0-9_.:-]{1,126}\\.\\*|[A-Za-z0-9_.:-]{1,128})$';
const SCOPE_NAME_RE = new RegExp(SCOPE_NAME_PATTERN);
export const MAX_EXPRESSION_LENGTH = 4096;
const MAX_DEPTH = 32;

export type ScopeExpression =
  | { op: 'scope'; name: string }
  | { op: 'and' | 'or'; left: ScopeExpression; right: ScopeExpression };

/** What a key was granted, compiled once per cached key record. */
export interface ScopeGrant {
  all: boolean;
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

export function compileGrant(scopes: readonly string[]): ScopeGrant {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let all = false;
  for (const s of scopes) {
    if (s === '*') all = true;
    else if (s.endsWith('.*')) prefixes.push(s.slice(0, -1));
    else exact.add(s);
  }
  return { all, exact, prefixes };
}

export function grants(grant: ScopeGrant, scope: string): boolean {
  if (grant.all || grant.exact.has(scope)) return true;
  for (const p of grant.prefixes) if (scope.startsWith(p)) return true;
  return false;
}

export function evaluate(expr: ScopeExpression, grant: ScopeGrant): boolean {
  switch (expr.op) {
    case 'scope':
      return grants(grant, expr.name);
    case 'and':
      return evaluate(expr.left, grant) && evaluate(expr.right, grant);
    case 'or':
      return evaluate(expr.left, grant) || evaluate(expr.right, grant);
  }
}

function tokenize(input: string): string[] {
  return input
    .replace(/[()]/g, ' $& ')
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

function bad(message: string): KeywardError {
  return new KeywardError('INVALID_SCOPE_EXPRESSION', `scopes: ${message}`, [{ path: '/scopes', message }]);
}

/**
 * Parses `a AND (b OR c)`. `AND` binds tighter than `OR`; both are case-insensitive.
 * Recursive descent with a depth bound so a hostile expression cannot exhaust the stack.
 */
export function parseScopeExpression(input: string): ScopeExpression {
  if (input.length > MAX_EXPRESSION_LENGTH) throw bad(`is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tokens = tokenize(input);
  if (tokens.length === 0) throw bad('is empty');
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const isOp = (t: string | undefined, op: string): boolean => t !== undefined && t.toUpperCase() === op;

  const parseOr = (depth: number): ScopeExpression => {
    let left = parseAnd(depth);
    while (isOp(peek(), 'OR')) {
      pos++;
      left = { op: 'or', left, right: parseAnd(depth) };
    }
    return left;
  };
  const parseAnd = (depth: number): ScopeExpression => {
    let left = parseFactor(depth);
    while (isOp(peek(), 'AND')) {
      pos++;
      left = { op: 'and', left, right: parseFactor(depth) };
    }
    return left;
  };
  const parseFactor = (depth: number): ScopeExpression => {
    if (depth > MAX_DEPTH) throw bad(`nests deeper than ${MAX_DEPTH} levels`);
    const token = tokens[pos++];
    if (token === undefined) throw bad('ends where a scope was expected');
    if (token === '(') {
      const inner = parseOr(depth + 1);
      if (tokens[pos++] !== ')') throw bad('has an unclosed parenthesis');
      return inner;
    }
    if (token === ')' || isOp(token, 'AND') || isOp(token, 'OR'))
      throw bad(`has "${token}" where a scope was expected`);
    if (!SCOPE_NAME_RE.test(token)) throw bad(`"${token.slice(0, 40)}" is not a valid scope name`);
    return { op: 'scope', name: token };
  };

  const expr = parseOr(0);
  if (pos < tokens.length) throw bad(`has "${String(tokens[pos]).slice(0, 40)}" after a complete expression`);
  return expr;
}

/**
 * Parsed expressions are few and repeat on every request of an API, so a small bounded
 * cache spares re-parsing on the hot path.
 */
export class ScopeExpressionCache {
  private readonly entries = new Map<string, ScopeExpression>();
  constructor(private readonly capacity = 1000) {}

  parse(input: string): ScopeExpression {
    const hit = this.entries.get(input);
    if (hit) return hit;
    const parsed = parseScopeExpression(input);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(input, parsed);
    return parsed;
  }
}
