import { type RandomSource, randomBase62, secureRandom } from '../crypto/index.js';

/** Every id carries a type prefix from this one table, so an id says what it names. */
export const ID_PREFIXES = {
  workspace: 'ws',
  rootKey: 'rk',
  keyspace: 'ks',
  key: 'key',
  request: 'req',
  event: 'evt',
  webhook: 'wh',
  delivery: 'whd',
  alertRule: 'ar',
  alert: 'al',
  incident: 'inc',
} as const;

export type IdType = keyof typeof ID_PREFIXES;

const ID_RANDOM_LENGTH = 20;

export function newId(type: IdType, random: RandomSource = secureRandom): string {
  return `${ID_PREFIXES[type]}_${randomBase62(ID_RANDOM_LENGTH, random)}`;
}

/**
 * A generator of ids that are unique but not secret (request ids, for logs and the
 * `x-request-id` header): a random per-generator tag, then a counter. No random bytes per id —
 * on the verification path a CSPRNG call per request is measurable. The shape is `newId`'s.
 */
export function idSequence(type: IdType, random: RandomSource = secureRandom): () => string {
  const tag = `${ID_PREFIXES[type]}_${randomBase62(8, random)}`;
  let n = 0;
  return () => {
    n++;
    return tag + n.toString(36).padStart(12, '0');
  };
}

const patterns = new Map<IdType, RegExp>(
  (Object.keys(ID_PREFIXES) as IdType[]).map((t) => [t, new RegExp(`^${ID_PREFIXES[t]}_[0-9A-Za-z]{8,40}$`)]),
);

/** Whether `id` has the shape of an id of `type` (it may still not exist). */
export function isId(type: IdType, id: string): boolean {
  return patterns.get(type)?.test(id) ?? false;
}

/** The JSON-schema pattern for ids of a type, shared by the HTTP schemas. */
export function idPattern(type: IdType): string {
  return `^${ID_PREFIXES[type]}_[0-9A-Za-z]{8,40}$`;
}
