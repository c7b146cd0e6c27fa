import { type Command, Option } from 'commander';
import type { Key, KeyCreate, KeyCreated, KeyUpdate } from '../api-types.js';
import { CliError, clientFromEnv, pathOf } from '../client.js';
import {
  addJsonOption,
  addListingOptions,
  collect,
  fetchListing,
  type ListingOptions,
  parseDuration,
  parseExpiry,
  parseInteger,
  parseJsonObject,
} from '../options.js';
import { printJson, printPage } from '../output.js';
import { keyColumns, printKey, printNewKey } from './key-output.js';
import { registerKeyLifecycle } from './keys-lifecycle.js';
import { registerKeyVerify } from './keys-verify.js';

const STATUSES = ['active', 'disabled', 'revoked', 'expired'];

interface ExpiryOptions {
  expires?: string;
  expiresIn?: number;
}

/** `--expires ISO|never` or `--expires-in 30d` as the API's `expiresAt` (undefined: not given). */
function expiresAt(opts: ExpiryOptions): string | null | undefined {
  if (opts.expiresIn !== undefined) return new Date(Date.now() + opts.expiresIn * 1000).toISOString();
  return opts.expires === 'never' ? null : opts.expires;
}

function addExpiryOptions(cmd: Command, what: string): Command {
  return cmd
    .addOption(
      new Option('--expires <time>', `${what}: an ISO-8601 time, or "never"`)
        .argParser(parseExpiry)
        .conflicts('expiresIn'),
    )
    .addOption(
      new Option('--expires-in <duration>', `${what} as a duration from now, e.g. 30d, 12h`).argParser(
        parseDuration,
      ),
    );
}

interface CreateOptions extends ExpiryOptions {
  keyspace: string;
  name?: string;
  owner?: string;
  scope?: string[];
  ip?: string[];
  origin?: string[];
  meta?: Record<string, unknown>;
  credits?: number;
  json?: boolean;
}

function createBody(o: CreateOptions): KeyCreate {
  const body: KeyCreate = fieldsOf(o);
  if (o.ip !== undefined || o.origin !== undefined)
    body.restrictions = { ips: o.ip ?? [], origins: o.origin ?? [] };
  return body;
}

interface UpdateOptions extends ExpiryOptions {
  name?: string;
  owner?: string;
  scope?: string[];
  meta?: Record<string, unknown>;
  credits?: number;
  json?: boolean;
}

/** The fields `keys create` and `keys update` share, from their common options. */
function fieldsOf(o: UpdateOptions) {
  const expiry = expiresAt(o);
  return {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.owner !== undefined ? { ownerId: o.owner } : {}),
    ...(o.scope !== undefined ? { scopes: o.scope } : {}),
    ...(expiry !== undefined ? { expiresAt: expiry } : {}),
    ...(o.meta !== undefined ? { meta: o.meta } : {}),
    ...(o.credits !== undefined ? { credits: { remaining: o.credits } } : {}),
  };
}

function updateBody(o: UpdateOptions): KeyUpdate {
  return fieldsOf(o);
}

export function registerKeys(program: Command): void {
  const group = program.command('keys').description('issue, inspect, verify, rotate and revoke API keys');

  const create = group
    .command('create')
    .description('issue a key; the plaintext is printed this once and can never be shown again')
    .requiredOption('--keyspace <id>', 'keyspace to issue the key in (ks_…)')
    .option('--name <name>', 'a name to recognise the key by')
    .option('--owner <id>', 'who the key is issued to (your user or customer id)')
    .option('--scope <scope>', 'a scope to grant (x.* grants x.anything); repeat for more', collect);
  addExpiryOptions(create, 'when the key stops working (default: the keyspace default)');
  addJsonOption(
    create
      .option('--ip <cidr>', 'only accept verifications from this address or CIDR range; repeat', collect)
      .option('--origin <origin>', 'only accept verifications from this origin; repeat', collect)
      .option('--meta <json>', 'free-form JSON object returned on verification', parseJsonObject)
      .option('--credits <n>', 'number of verifications allowed (default unlimited)', parseInteger(0)),
  ).action(async (opts: CreateOptions) => {
    const created = await clientFromEnv().post<KeyCreated>(
      pathOf('/v1/keyspaces', opts.keyspace, 'keys'),
      createBody(opts),
    );
    printNewKey(created, opts.json);
  });

  addJsonOption(group.command('get').description('show a key').argument('<id>', 'key id (key_…)')).action(
    async (id: string, opts: { json?: boolean }) => {
      printKey(await clientFromEnv().get<Key>(pathOf('/v1/keys', id)), opts.json);
    },
  );

  addListingOptions(
    group
      .command('list')
      .description('list the keys of a keyspace, newest first')
      .requiredOption('--keyspace <id>', 'keyspace id (ks_…)')
      .option('--owner <id>', 'only keys of this owner')
      .addOption(new Option('--status <status>', 'only keys with this status').choices(STATUSES))
      .option('--due', 'only keys due for rotation under the keyspace policy')
      .option(
        '--expiring <duration>',
        'only working keys that stop within this time, e.g. 7d, 12h',
        parseDuration,
      )
      .option('--replaced', 'only keys already replaced by a rotation: LAST USED shows who has not switched'),
  ).action(
    async (
      opts: ListingOptions & {
        keyspace: string;
        owner?: string;
        status?: string;
        due?: boolean;
        expiring?: number;
        replaced?: boolean;
      },
    ) => {
      const page = await fetchListing<Key>(
        clientFromEnv(),
        pathOf('/v1/keyspaces', opts.keyspace, 'keys'),
        {
          ownerId: opts.owner,
          status: opts.status,
          due: opts.due ? 'true' : undefined,
          replaced: opts.replaced ? 'true' : undefined,
          expiresBefore:
            opts.expiring !== undefined
              ? new Date(Date.now() + opts.expiring * 1000).toISOString()
              : undefined,
        },
        opts,
      );
      if (opts.json) printJson(page);
      else printPage(page, keyColumns, 'keys');
    },
  );

  const update = group
    .command('update')
    .description('change a key; only the options given change')
    .argument('<id>', 'key id (key_…)')
    .option('--name <name>', 'new name')
    .option('--owner <id>', 'new owner id')
    .option('--scope <scope>', 'replace the scopes with these; repeat for more', collect);
  addExpiryOptions(update, 'new expiry');
  addJsonOption(
    update
      .option('--meta <json>', 'replace the metadata with this JSON object', parseJsonObject)
      .option('--credits <n>', 'set the remaining credits', parseInteger(0)),
  ).action(async (id: string, opts: UpdateOptions) => {
    const body = updateBody(opts);
    if (Object.keys(body).length === 0)
      throw new CliError(
        'nothing to update: give at least one of --name, --owner, --scope, --expires, --meta, --credits',
      );
    printKey(await clientFromEnv().patch<Key>(pathOf('/v1/keys', id), body), opts.json);
  });

  registerKeyVerify(group);
  registerKeyLifecycle(group);
}
