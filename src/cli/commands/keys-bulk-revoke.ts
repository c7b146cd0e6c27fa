import { createInterface } from 'node:readline/promises';
import type { ApiClient } from '../client.js';
import { CliError } from '../client.js';
import type { Page } from '../options.js';
import { note, printJson, printLine } from '../output.js';
import { progressBar } from '../progress.js';

export interface BulkRevokeOptions {
  owner?: string;
  keyspace?: string;
  createdBefore?: string;
  createdAfter?: string;
  reason?: string;
  yes?: boolean;
  json?: boolean;
}

interface ListedKey {
  id: string;
  status: string;
  createdAt: string;
  ownerId: string | null;
}

function matches(k: ListedKey, o: BulkRevokeOptions): boolean {
  if (k.status === 'revoked') return false;
  const created = Date.parse(k.createdAt);
  if (o.createdBefore !== undefined && !(created < Date.parse(o.createdBefore))) return false;
  if (o.createdAfter !== undefined && !(created > Date.parse(o.createdAfter))) return false;
  return true;
}

async function allPages<T>(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<Page<T>>(path, { ...query, limit: 100, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/** Counts what a bulk revocation would hit, keyspace by keyspace, with a progress bar. */
async function countMatching(api: ApiClient, o: BulkRevokeOptions): Promise<number> {
  const keyspaces = o.keyspace
    ? [o.keyspace]
    : (await allPages<{ id: string }>(api, '/v1/keyspaces', {})).map((k) => k.id);
  const bar = progressBar('counting matching keys');
  let count = 0;
  for (const [i, id] of keyspaces.entries()) {
    const keys = await allPages<ListedKey>(api, `/v1/keyspaces/${encodeURIComponent(id)}/keys`, {
      ownerId: o.owner,
    });
    count += keys.filter((k) => matches(k, o)).length;
    bar.update(i + 1, keyspaces.length);
  }
  return count;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * `keyward keys revoke --owner X [--keyspace ID]`: emergency revocation. Counts the keys it will
 * revoke (progress bar), asks for confirmation unless `--yes`, then revokes them all in one
 * call: one transaction on the server, one incident.
 */
export async function bulkRevoke(api: ApiClient, o: BulkRevokeOptions): Promise<void> {
  if (o.owner === undefined && o.keyspace === undefined)
    throw new CliError('bulk revocation needs --owner or --keyspace (or give one key id)');
  if (!o.reason) throw new CliError('bulk revocation needs --reason: it is kept on the incident');
  for (const [flag, value] of [
    ['--created-before', o.createdBefore],
    ['--created-after', o.createdAfter],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new CliError(`${flag} must be an ISO-8601 time`);
  }
  const scope = [o.owner && `owner ${o.owner}`, o.keyspace && `keyspace ${o.keyspace}`]
    .filter(Boolean)
    .join(', ');
  if (!o.yes) {
    if (!process.stdin.isTTY)
      throw new CliError(
        'refusing to revoke in bulk without confirmation: run it in a terminal or pass --yes',
      );
    const count = await countMatching(api, o);
    if (count === 0) {
      note(`no unrevoked key matches ${scope}; nothing to do`);
      return;
    }
    // Declining ends the command unsuccessfully: what was asked for was not done.
    if (!(await confirm(`Revoke ${count} key(s) of ${scope} for good? [y/N] `)))
      throw new CliError('cancelled; nothing was revoked');
  }
  const result = await api.post<{ revoked: number; incidentId: string }>('/v1/keys/revoke', {
    filter: {
      ...(o.keyspace !== undefined ? { keyspaceId: o.keyspace } : {}),
      ...(o.owner !== undefined ? { ownerId: o.owner } : {}),
      ...(o.createdBefore !== undefined ? { createdBefore: new Date(o.createdBefore).toISOString() } : {}),
      ...(o.createdAfter !== undefined ? { createdAfter: new Date(o.createdAfter).toISOString() } : {}),
    },
    reason: o.reason,
  });
  if (o.json) printJson(result);
  else {
    printLine(`revoked ${result.revoked} key(s) of ${scope}`);
    printLine(`incident: ${result.incidentId}  (keyward incidents get ${result.incidentId})`);
  }
}
