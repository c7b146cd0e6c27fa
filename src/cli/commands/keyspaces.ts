import type { Command } from 'commander';
import type { Keyspace, KeyspaceCreate } from '../api-types.js';
import { clientFromEnv, pathOf } from '../client.js';
import {
  addJsonOption,
  addListingOptions,
  collect,
  fetchListing,
  type ListingOptions,
  parseDuration,
} from '../options.js';
import { type Column, printFields, printJson, printLine, printPage } from '../output.js';

const columns: Column<Keyspace>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'PREFIX', value: (k) => k.prefix },
  { header: 'CREATED', value: (k) => k.createdAt },
];

function printKeyspace(k: Keyspace): void {
  printFields([
    ['id', k.id],
    ['name', k.name],
    ['prefix', k.prefix],
    ['default expiry', k.defaults.expiresInSeconds === undefined ? null : `${k.defaults.expiresInSeconds}s`],
    ['default scopes', k.defaults.scopes],
    ['default ratelimits', k.defaults.ratelimits],
    ['rotation', k.rotation],
    ['created', k.createdAt],
    ['updated', k.updatedAt],
  ]);
}

function show(k: Keyspace, json: boolean | undefined): void {
  if (json) printJson(k);
  else printKeyspace(k);
}

export function registerKeyspaces(program: Command): void {
  const group = program
    .command('keyspaces')
    .description('manage keyspaces: groups of keys sharing a prefix and defaults');

  addJsonOption(
    group
      .command('create')
      .description('create a keyspace')
      .argument('<name>', 'name, unique within the workspace')
      .option('--prefix <prefix>', 'key prefix: 1-20 of a-z, 0-9, _ starting with a letter (default kw)')
      .option('--expires-in <duration>', 'default lifetime of new keys, e.g. 30d, 12h', parseDuration)
      .option('--scope <scope>', 'a default scope for new keys; repeat for more', collect),
  ).action(
    async (name: string, opts: { prefix?: string; expiresIn?: number; scope?: string[]; json?: boolean }) => {
      const defaults: NonNullable<KeyspaceCreate['defaults']> = {};
      if (opts.expiresIn !== undefined) defaults.expiresInSeconds = opts.expiresIn;
      if (opts.scope !== undefined) defaults.scopes = opts.scope;
      const body: KeyspaceCreate = {
        name,
        ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
        ...(Object.keys(defaults).length > 0 ? { defaults } : {}),
      };
      show(await clientFromEnv().post<Keyspace>('/v1/keyspaces', body), opts.json);
    },
  );

  addListingOptions(group.command('list').description('list keyspaces, newest first')).action(
    async (opts: ListingOptions) => {
      const page = await fetchListing<Keyspace>(clientFromEnv(), '/v1/keyspaces', {}, opts);
      if (opts.json) printJson(page);
      else printPage(page, columns, 'keyspaces');
    },
  );

  addJsonOption(
    group.command('get').description('show a keyspace').argument('<id>', 'keyspace id (ks_…)'),
  ).action(async (id: string, opts: { json?: boolean }) => {
    show(await clientFromEnv().get<Keyspace>(pathOf('/v1/keyspaces', id)), opts.json);
  });

  addJsonOption(
    group
      .command('delete')
      .description('delete an empty keyspace (one that still has keys is refused)')
      .argument('<id>', 'keyspace id (ks_…)'),
  ).action(async (id: string, opts: { json?: boolean }) => {
    await clientFromEnv().delete(pathOf('/v1/keyspaces', id));
    // The API answers 204 with no body: --json prints nothing.
    if (!opts.json) printLine(`deleted keyspace ${id}`);
  });
}
