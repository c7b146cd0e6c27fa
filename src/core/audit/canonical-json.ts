/**
 * JSON with object keys sorted at every depth, so the same entry always hashes the same no
 * matter how a database or driver orders its fields.
 *
 * Apart from key order it writes exactly what `JSON.stringify` writes (`toJSON` applied,
 * `undefined`, functions and symbols dropped from objects and nulled in arrays): stores keep
 * entries as JSON, and the hash computed on append must still match after that round trip.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value) ?? 'null';
}

/** The canonical text, or undefined where `JSON.stringify` would omit the value. */
function serialize(input: unknown): string | undefined {
  const value = hasToJson(input) ? input.toJSON() : input;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => serialize(v) ?? 'null').join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = serialize(obj[k]);
    if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  );
}
