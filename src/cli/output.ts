/**
 * Human output: aligned tables for listings, `label: value` lines for one object. `--json`
 * bypasses all of this and prints the API's answer as it came.
 */

function write(text: string): void {
  process.stdout.write(text);
}

/** The API's answer, unchanged (pretty-printed: the same JSON value). */
export function printJson(value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  write(`${line}\n`);
}

/** Notes for the reader (next-page hints, empty results) go to stderr, keeping stdout parseable. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One cell: `-` for nothing, lists comma-joined, objects as compact JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v === '' ? '-' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map((x) => formatValue(x)).join(',');
  if (typeof v === 'object' && Object.keys(v).length === 0) return '-';
  return JSON.stringify(v);
}

/** `label: value` lines with the values aligned. */
export function printFields(fields: [label: string, value: unknown][]): void {
  const width = Math.max(0, ...fields.map(([label]) => label.length)) + 1;
  for (const [label, value] of fields) write(`${`${label}:`.padEnd(width)} ${formatValue(value)}\n`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export function printTable<T>(rows: T[], columns: Column<T>[]): void {
  const cells = rows.map((r) => columns.map((c) => formatValue(c.value(r))));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  write(`${line(columns.map((c) => c.header))}\n`);
  for (const row of cells) write(`${line(row)}\n`);
}

/** A listing page: the table, or a note when empty, and how to get the next page. */
export function printPage<T>(
  page: { items: T[]; nextCursor: string | null },
  columns: Column<T>[],
  noun: string,
): void {
  if (page.items.length === 0) note(`no ${noun}`);
  else printTable(page.items, columns);
  if (page.nextCursor !== null) note(`more ${noun}: repeat with --cursor ${page.nextCursor} (or use --all)`);
}
