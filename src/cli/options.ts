import { type Command, InvalidArgumentError } from 'commander';
import type { ApiClient } from './client.js';

/** Commander reducer for repeatable options (`--scope a --scope b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseInteger(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 7 * 86_400,
  y: 365 * 86_400,
};

/** `90`, `45s`, `15m`, `12h`, `30d`, `2w`, `1y` → seconds (a bare number is seconds). */
export function parseDuration(value: string): number {
  const m = /^(\d+)\s*([smhdwy]?)$/.exec(value.trim());
  const unit = UNIT_SECONDS[m?.[2] || 's'];
  if (!m || unit === undefined)
    throw new InvalidArgumentError('must be a duration like 90s, 15m, 12h, 30d, 2w');
  const seconds = Number(m[1]) * unit;
  if (!Number.isSafeInteger(seconds)) throw new InvalidArgumentError('is too long');
  return seconds;
}

/**
 * An ISO-8601 time (normalised to UTC with milliseconds), or `never`. Not null for never:
 * commander turns a parser's null into ''.
 */
export function parseExpiry(value: string): string {
  if (value === 'never') return value;
  // Date.parse accepts odd forms ("1"); insist on something that starts like a date.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw new InvalidArgumentError('must be an ISO-8601 time (2026-12-31T23:59:59Z) or "never"');
  return new Date(ms).toISOString();
}

export function parseJsonObject(value: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON, e.g. \'{"plan":"pro"}\'');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new InvalidArgumentError('must be a JSON object');
  return v as Record<string, unknown>;
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', "print the API's answer as JSON, unchanged");
}

export interface ListingOptions {
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

export function addListingOptions(cmd: Command): Command {
  return addJsonOption(
    cmd
      .option('--limit <n>', 'items per page, 1-100 (default 20; 100 with --all)', parseInteger(1, 100))
      .option('--cursor <cursor>', 'the cursor a previous page printed (nextCursor)')
      .option('--all', 'follow nextCursor to the end and print every item (--json: one combined page)'),
  );
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * One page, or with `--all` every page from `--cursor` on, merged into one
 * `{ items, nextCursor: null }`, so `--json --all` keeps the listing's shape.
 */
export async function fetchListing<T>(
  api: ApiClient,
  path: string,
  filters: Record<string, string | undefined>,
  opts: ListingOptions,
): Promise<Page<T>> {
  const limit = opts.limit ?? (opts.all ? 100 : undefined);
  let cursor = opts.cursor;
  const items: T[] = [];
  for (;;) {
    const page = await api.get<Page<T>>(path, { ...filters, limit, cursor });
    if (!opts.all) return page;
    items.push(...page.items);
    if (page.nextCursor === null) return { items, nextCursor: null };
    cursor = page.nextCursor;
  }
}
