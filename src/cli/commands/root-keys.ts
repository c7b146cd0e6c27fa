import type { Command } from 'commander';
import type { RootKey } from '../api-types.js';
import { clientFromEnv, pathOf } from '../client.js';
import { addJsonOption, addListingOptions, collect, fetchListing, type ListingOptions } from '../options.js';
import { type Column, printFields, printJson, printPage } from '../output.js';

const columns: Column<RootKey>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'START', value: (r) => r.start },
  { header: 'PERMISSIONS', value: (r) => r.permissions },
  { header: 'CREATED', value: (r) => r.createdAt },
  { header: 'REVOKED', value: (r) => r.revokedAt },
];

export function registerRootKeys(program: Command): void {
  const group = program
    .command('root-keys')
    .description('manage root keys: the credentials that call the management API');

  // `create` works offline, on the data directory, so it is there when no root key is at hand.
  group
    .command('create')
    .description('create a root key directly in the store (offline); prints only the key')
    .option('--data <dir>', 'data directory of the server (env KEYWARD_DATA_DIR, default ./.keyward)')
    .option('--workspace <name>', 'workspace (created if it does not exist)', 'default')
    .option('--permission <permission>', 'a permission to grant; repeat for more (default *)', collect)
    .option('--name <name>', 'a name to recognise the key by')
    .option('--json', 'print { id, key, workspaceId } as JSON')
    .action(
      async (opts: {
        data?: string;
        workspace: string;
        permission?: string[];
        name?: string;
        json?: boolean;
      }) => {
        // Loaded on use: the online commands never need the store or its drivers.
        const { createRootKeyOffline } = await import('../root-keys-offline.js');
        const created = await createRootKeyOffline({ ...opts, permission: opts.permission ?? [] });
        // Its purpose is to show the key, once; --json prints { id, key, workspaceId }.
        process.stdout.write(opts.json ? `${JSON.stringify(created)}\n` : `${created.key}\n`);
      },
    );

  addListingOptions(group.command('list').description('list root keys, newest first')).action(
    async (opts: ListingOptions) => {
      const page = await fetchListing<RootKey>(clientFromEnv(), '/v1/root-keys', {}, opts);
      if (opts.json) printJson(page);
      else printPage(page, columns, 'root keys');
    },
  );

  addJsonOption(
    group
      .command('revoke')
      .description('revoke a root key: it is refused from now on')
      .argument('<id>', 'root key id (rk_…)'),
  ).action(async (id: string, opts: { json?: boolean }) => {
    const revoked = await clientFromEnv().post<RootKey>(pathOf('/v1/root-keys', id, 'revoke'));
    if (opts.json) printJson(revoked);
    else
      printFields([
        ['id', revoked.id],
        ['name', revoked.name],
        ['start', revoked.start],
        ['permissions', revoked.permissions],
        ['created', revoked.createdAt],
        ['revoked', revoked.revokedAt],
      ]);
  });
}
