import { KeywardError } from '../core/errors/index.js';

/** Opaque cursors: base64url JSON of the last item's position. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function badCursor(): KeywardError {
  return new KeywardError('INVALID_CURSOR', 'cursor is not a cursor this listing returned', [
    { path: 'querystring:/cursor', message: 'is not valid' },
  ]);
}

/** An empty `cursor=` is the first page, as no cursor is (clients often send it so). */
export function decodeTimeCursor(cursor: string | undefined): { createdAt: number; id: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string')
      return { createdAt: v[0], id: v[1] };
  } catch {}
  throw badCursor();
}

export function decodeSeqCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  } catch {}
  throw badCursor();
}

/**
 * Fetch `limit + 1` rows, hand back `limit` and a cursor when there was one more: no count
 * query, and no empty last page.
 */
export function pageOf<T, V>(
  rows: T[],
  limit: number,
  view: (row: T) => V,
  position: (row: T) => unknown,
): { items: V[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(view),
    nextCursor: more && last !== undefined ? encodeCursor(position(last)) : null,
  };
}
