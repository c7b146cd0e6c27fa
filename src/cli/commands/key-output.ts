import type { Key, KeyCreated } from '../api-types.js';

function credits(c: Key['credits']): string {
  if (c === null) return 'unlimited';
  return c.refill === null
    ? `${c.remaining}`
    : `${c.remaining} (refill ${c.refill.amount} ${c.refill.interval})`;
}

import { type Column, printFields, printJson, printLine } from '../output.js';

export const keyColumns: Column<Key>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'START', value: (k) => k.start },
  { header: 'NAME', value: (k) => k.name },
  { header: 'OWNER', value: (k) => k.ownerId },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'EXPIRES', value: (k) => k.expiresAt },
  { header: 'CREATED', value: (k) => k.createdAt },
  { header: 'LAST USED', value: (k) => k.lastUsedAt },
  { header: 'REPLACED BY', value: (k) => k.replacedBy },
];

function keyFields(k: Key): [string, unknown][] {
  return [
    ['id', k.id],
    ['keyspace', k.keyspaceId],
    ['start', k.start],
    ['name', k.name],
    ['owner', k.ownerId],
    ['status', k.status],
    ['scopes', k.scopes],
    ['expires', k.expiresAt ?? 'never'],
    ['credits', credits(k.credits)],
    ['ratelimits', k.ratelimits],
    ['allowed ips', k.restrictions.ips],
    ['allowed origins', k.restrictions.origins],
    ['meta', k.meta],
    ['created', k.createdAt],
    ['last used', k.lastUsedAt],
    ['revoked', k.revokedAt],
    ['replaces', k.replaces],
    ['replaced by', k.replacedBy],
  ];
}

export function printKey(k: Key, json: boolean | undefined): void {
  if (json) printJson(k);
  else printFields(keyFields(k));
}

/**
 * A new key (create or rotate). The plaintext is shown here and nowhere else: Keyward keeps
 * only its hash, so the human output says so right under it.
 */
export function printNewKey(created: KeyCreated, json: boolean | undefined): void {
  if (json) {
    printJson(created);
    return;
  }
  const { key, ...rest } = created;
  printFields(keyFields(rest));
  printLine();
  printLine(`key: ${key}`);
  printLine('  This is the only time the key is shown: store it now. Keyward keeps only its hash.');
}
