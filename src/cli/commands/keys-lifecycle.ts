import type { Command } from 'commander';
import type { Key, KeyCreated } from '../api-types.js';
import { CliError, clientFromEnv, pathOf } from '../client.js';
import { addJsonOption, parseDuration } from '../options.js';
import { printLine } from '../output.js';
import { printKey, printNewKey } from './key-output.js';
import { type BulkRevokeOptions, bulkRevoke } from './keys-bulk-revoke.js';

const ID = ['<id>', 'key id (key_…)'] as const;

/** rotate, revoke, delete, disable, enable: what happens to a key after it is issued. */
export function registerKeyLifecycle(group: Command): void {
  addJsonOption(
    group
      .command('rotate')
      .description('issue a replacement key (printed this once); the old key stops at once, or after --grace')
      .argument(...ID)
      .option(
        '--grace <seconds>',
        'how long the old key keeps working: seconds, or a duration like 15m, 1d (default 0)',
        parseDuration,
      )
      .option('--reason <reason>', 'why, for the audit log'),
  ).action(async (id: string, opts: { grace?: number; reason?: string; json?: boolean }) => {
    const rotated = await clientFromEnv().post<KeyCreated>(pathOf('/v1/keys', id, 'rotate'), {
      ...(opts.grace !== undefined ? { gracePeriodSeconds: opts.grace } : {}),
      ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    });
    printNewKey(rotated, opts.json);
  });

  addJsonOption(
    group
      .command('revoke')
      .description(
        'revoke a key for good (it verifies as REVOKED from now on), or in an emergency every key of an owner or keyspace at once',
      )
      .argument('[id]', 'key id (key_…); omit it for a bulk revocation with --owner / --keyspace')
      .option('--reason <reason>', 'why, for the audit log (required in bulk)')
      .option('--owner <ownerId>', 'bulk: every key issued to this owner')
      .option('--keyspace <id>', 'bulk: only keys of this keyspace (ks_…)')
      .option('--created-before <time>', 'bulk: only keys created before this ISO-8601 time')
      .option('--created-after <time>', 'bulk: only keys created after this ISO-8601 time')
      .option('--yes', 'bulk: do not ask for confirmation')
      .addHelpText(
        'after',
        '\nBulk revocation counts the matching keys (with a progress bar), asks for confirmation unless\n--yes, then revokes them all in one transaction and prints the incident it recorded.',
      ),
  ).action(async (id: string | undefined, opts: BulkRevokeOptions) => {
    const bulk = opts.owner !== undefined || opts.keyspace !== undefined;
    if (id !== undefined && bulk) throw new CliError('give either a key id or --owner/--keyspace, not both');
    if (id === undefined) return bulkRevoke(clientFromEnv(), opts);
    const body = opts.reason !== undefined ? { reason: opts.reason } : {};
    printKey(await clientFromEnv().post<Key>(pathOf('/v1/keys', id, 'revoke'), body), opts.json);
  });

  addJsonOption(
    group
      .command('delete')
      .description('delete a key: it verifies as NOT_FOUND and disappears from listings')
      .argument(...ID),
  ).action(async (id: string, opts: { json?: boolean }) => {
    await clientFromEnv().delete(pathOf('/v1/keys', id));
    // The API answers 204 with no body: --json prints nothing.
    if (!opts.json) printLine(`deleted key ${id}`);
  });

  for (const [name, status, description] of [
    ['disable', 'disabled', 'disable a key (verifies as DISABLED) until enabled again'],
    ['enable', 'active', 'enable a disabled key again'],
  ] as const) {
    addJsonOption(
      group
        .command(name)
        .description(description)
        .argument(...ID),
    ).action(async (id: string, opts: { json?: boolean }) => {
      printKey(await clientFromEnv().patch<Key>(pathOf('/v1/keys', id), { status }), opts.json);
    });
  }
}
