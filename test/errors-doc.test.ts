import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../src/core/errors/index.js';

function documentedCodes(): Map<string, number> {
  const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, number>();
  for (const m of text.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm))
    rows.set(String(m[1]), Number(m[2]));
  return rows;
}

describe('docs/errors.md', () => {
  it('documents every code of the catalogue with its status, and nothing else', () => {
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status as number]));
    expect(documentedCodes()).toEqual(catalogue);
  });
});
