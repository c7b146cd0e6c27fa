import { describe, expect, it } from 'vitest';
import { KeywardError } from '../errors/index.js';
import {
  compileGrant,
  evaluate,
  GRANTED_SCOPE_PATTERN,
  grants,
  MAX_EXPRESSION_LENGTH,
  parseScopeExpression,
  SCOPE_NAME_PATTERN,
  ScopeExpressionCache,
} from './scopes.js';

/** Whether a key granted `granted` satisfies `expression`. */
function allows(granted: string[], expression: string): boolean {
  return evaluate(parseScopeExpression(expression), compileGrant(granted));
}

function parseError(input: string): KeywardError {
  try {
    parseScopeExpression(input);
  } catch (e) {
    if (e instanceof KeywardError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(input.slice(0, 60))} parsed without an error`);
}

const nested = (depth: number): string => `${'('.repeat(depth)}a${')'.repeat(depth)}`;

describe('parseScopeExpression', () => {
  it('parses a single scope', () => {
    expect(parseScopeExpression('docs.read')).toEqual({ op: 'scope', name: 'docs.read' });
  });

  it('binds AND tighter than OR on either side', () => {
    const s = (name: string) => ({ op: 'scope', name });
    expect(parseScopeExpression('a OR b AND c')).toEqual({
      op: 'or',
      left: s('a'),
      right: { op: 'and', left: s('b'), right: s('c') },
    });
    expect(parseScopeExpression('a AND b OR c')).toEqual({
      op: 'or',
      left: { op: 'and', left: s('a'), right: s('b') },
      right: s('c'),
    });
  });

  it('lets parentheses override precedence', () => {
    expect(parseScopeExpression('(a OR b) AND c')).toEqual({
      op: 'and',
      left: { op: 'or', left: { op: 'scope', name: 'a' }, right: { op: 'scope', name: 'b' } },
      right: { op: 'scope', name: 'c' },
    });
  });

  it('treats AND and OR case-insensitively', () => {
    expect(parseScopeExpression('a and b Or c')).toEqual(parseScopeExpression('a AND b OR c'));
    expect(parseScopeExpression('a aNd b')).toEqual(parseScopeExpression('a AND b'));
  });

  it('needs no spaces around parentheses and tolerates any whitespace', () => {
    expect(parseScopeExpression('(a)AND(b)')).toEqual(parseScopeExpression('a AND b'));
    expect(parseScopeExpression('  a\tAND\n b  ')).toEqual(parseScopeExpression('a AND b'));
  });

  it('accepts every character of a scope name and names of up to 128 characters', () => {
    expect(parseScopeExpression('Az09_.:-')).toEqual({ op: 'scope', name: 'Az09_.:-' });
    const longest = 'a'.repeat(128);
    expect(parseScopeExpression(longest)).toEqual({ op: 'scope', name: longest });
  });

  it('accepts 32 levels of parentheses', () => {
    expect(parseScopeExpression(nested(32))).toEqual({ op: 'scope', name: 'a' });
  });

  it('accepts an expression of exactly the maximum length', () => {
    const input = `a${' OR a'.repeat((MAX_EXPRESSION_LENGTH - 1) / 5)}`.padEnd(MAX_EXPRESSION_LENGTH, ' ');
    expect(input).toHaveLength(MAX_EXPRESSION_LENGTH);
    expect(() => parseScopeExpression(input)).not.toThrow();
  });

  describe('refuses every malformed expression with INVALID_SCOPE_EXPRESSION', () => {
    const malformed: [string, string][] = [
      ['empty', ''],
      ['only whitespace', ' \t\n'],
      ['a dangling AND', 'a AND'],
      ['a dangling OR', 'a OR'],
      ['a leading operator', 'AND a'],
      ['two operators in a row', 'a AND OR b'],
      ['an operator alone', 'OR'],
      ['two scopes without an operator', 'a b'],
      ['an unclosed parenthesis', '(a AND b'],
      ['an extra closing parenthesis', 'a AND b)'],
      ['a closing parenthesis first', ')a('],
      ['empty parentheses', '()'],
      ['an operator inside empty parentheses', '(AND)'],
      ['a wildcard', 'docs.*'],
      ['a lone star', '*'],
      ['a space inside a name', 'docs read AND x'],
      ['a comma', 'a,b'],
      ['a slash', 'docs/read'],
      ['a non-ASCII letter', 'döcs'],
      ['symbolic operators', 'a && b'],
      ['NOT, which is not an operator', 'NOT a'],
      ['a name of 129 characters', 'a'.repeat(129)],
      ['a too-long name inside an expression', `a AND ${'b'.repeat(129)}`],
      ['33 levels of parentheses', nested(33)],
      ['an expression longer than the maximum', `a${' OR a'.repeat(1000)}`],
      ['deep nesting far beyond the limit', nested(2000)],
    ];
    for (const [what, input] of malformed) {
      it(what, () => {
        const error = parseError(input);
        expect(error.code).toBe('INVALID_SCOPE_EXPRESSION');
        expect(error.status).toBe(400);
        expect(error.errors?.[0]?.path).toBe('/scopes');
      });
    }
  });

  it('keeps the error detail short for a huge bad token', () => {
    const error = parseError(`a AND ${'x'.repeat(200)}!`);
    expect(error.message.length).toBeLessThan(120);
  });
});

describe('evaluating an expression against granted scopes', () => {
  it('requires every side of AND', () => {
    expect(allows(['a', 'b'], 'a AND b')).toBe(true);
    expect(allows(['a'], 'a AND b')).toBe(false);
    expect(allows(['b'], 'a AND b')).toBe(false);
  });

  it('requires one side of OR', () => {
    expect(allows(['a'], 'a OR b')).toBe(true);
    expect(allows(['b'], 'a OR b')).toBe(true);
    expect(allows(['c'], 'a OR b')).toBe(false);
  });

  it('evaluates a OR b AND c as a OR (b AND c)', () => {
    expect(allows(['a'], 'a OR b AND c')).toBe(true);
    expect(allows(['b'], 'a OR b AND c')).toBe(false);
    expect(allows(['c'], 'a AND b OR c')).toBe(true);
    expect(allows(['a'], 'a AND b OR c')).toBe(false);
  });

  it('evaluates parentheses first', () => {
    expect(allows(['a'], '(a OR b) AND c')).toBe(false);
    expect(allows(['b', 'c'], '(a OR b) AND c')).toBe(true);
  });

  it('matches scope names case-sensitively', () => {
    expect(allows(['docs.read'], 'Docs.Read')).toBe(false);
  });

  it('grants nothing when no scope was granted', () => {
    expect(allows([], 'a')).toBe(false);
    expect(allows([], 'a OR b')).toBe(false);
  });
});

describe('granted scopes', () => {
  it('lets docs.* cover docs.read, docs.write and nested docs.a.b', () => {
    const grant = compileGrant(['docs.*']);
    expect(grants(grant, 'docs.read')).toBe(true);
    expect(grants(grant, 'docs.write')).toBe(true);
    expect(grants(grant, 'docs.a.b')).toBe(true);
  });

  it('does not let docs.* cover docs itself, a sibling prefix, or a different case', () => {
    const grant = compileGrant(['docs.*']);
    expect(grants(grant, 'docs')).toBe(false);
    expect(grants(grant, 'docsx.read')).toBe(false);
    expect(grants(grant, 'docs:read')).toBe(false);
    expect(grants(grant, 'Docs.read')).toBe(false);
    expect(grants(grant, 'x.docs.read')).toBe(false);
  });

  it('lets a nested wildcard cover only its own subtree', () => {
    const grant = compileGrant(['docs.a.*']);
    expect(grants(grant, 'docs.a.b')).toBe(true);
    expect(grants(grant, 'docs.b')).toBe(false);
    expect(grants(grant, 'docs.a')).toBe(false);
  });

  it('lets * cover every scope', () => {
    const grant = compileGrant(['*']);
    for (const scope of ['a', 'docs.read', 'x:y-z', 'A'.repeat(128)]) expect(grants(grant, scope)).toBe(true);
  });

  it('matches an exact grant only exactly', () => {
    const grant = compileGrant(['docs.read']);
    expect(grants(grant, 'docs.read')).toBe(true);
    expect(grants(grant, 'docs.read.all')).toBe(false);
    expect(grants(grant, 'docs')).toBe(false);
  });

  it('combines exact names and wildcards in one grant', () => {
    expect(allows(['billing.read', 'docs.*'], 'billing.read AND docs.write')).toBe(true);
    expect(allows(['billing.read', 'docs.*'], 'billing.write OR docsx.read')).toBe(false);
  });

  it('describes the allowed names and grants in its exported patterns', () => {
    const name = new RegExp(SCOPE_NAME_PATTERN);
    const granted = new RegExp(GRANTED_SCOPE_PATTERN);
    expect(name.test('a'.repeat(128))).toBe(true);
    expect(name.test('a'.repeat(129))).toBe(false);
    expect(name.test('docs.*')).toBe(false);
    for (const g of ['*', 'docs.*', 'docs.read', `${'a'.repeat(126)}.*`])
      expect(granted.test(g), g).toBe(true);
    for (const g of ['', 'docs*', '*.docs', 'docs.**', `${'a'.repeat(127)}.*`, 'a b']) {
      expect(granted.test(g), g).toBe(false);
    }
  });
});

describe('ScopeExpressionCache', () => {
  it('parses like parseScopeExpression', () => {
    const cache = new ScopeExpressionCache();
    expect(cache.parse('a OR b AND c')).toEqual(parseScopeExpression('a OR b AND c'));
  });

  it('returns the cached parse for a repeated expression', () => {
    const cache = new ScopeExpressionCache();
    expect(cache.parse('a AND b')).toBe(cache.parse('a AND b'));
  });

  it('throws for a malformed expression every time and caches nothing for it', () => {
    const cache = new ScopeExpressionCache();
    expect(() => cache.parse('a AND')).toThrow(KeywardError);
    expect(() => cache.parse('a AND')).toThrow(KeywardError);
  });

  it('stays within its capacity by dropping the oldest expression', () => {
    const cache = new ScopeExpressionCache(2);
    const first = cache.parse('a');
    const second = cache.parse('b');
    cache.parse('c');
    expect(cache.parse('b')).toBe(second);
    expect(cache.parse('a')).not.toBe(first);
    expect(cache.parse('a')).toEqual(first);
  });

  it('holds many distinct expressions without growing past its capacity', () => {
    const cache = new ScopeExpressionCache(10);
    const first = cache.parse('s0');
    for (let i = 1; i < 1000; i++) cache.parse(`s${i}`);
    expect(cache.parse('s0')).not.toBe(first);
  });
});
