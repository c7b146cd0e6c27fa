import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { SecretMetadata, SecretPut, SecretValue, SecretWritten } from '../api-types.js';
import { CliError, clientFromEnv } from '../client.js';
import {
  addJsonOption,
  addListingOptions,
  fetchListing,
  type ListingOptions,
  parseDuration,
  parseInteger,
  parseJsonObject,
} from '../options.js';
import { type Column, note, printFields, printJson, printLine, printPage } from '../output.js';
import { fetchSecretVariables, type SecretVariable, secretUrl } from '../secret-env.js';

const columns: Column<SecretMetadata>[] = [
  { header: 'PATH', value: (s) => s.path },
  { header: 'VERSION', value: (s) => s.version },
  { header: 'LATEST', value: (s) => s.latestVersion },
  { header: 'PENDING', value: (s) => s.labels.pending },
  { header: 'ROTATION DUE', value: (s) => s.rotationDueAt },
  { header: 'UPDATED', value: (s) => s.updatedAt },
];

/** A rotation endpoint made by this call: its signing secret is printed this once. */
function printRotationWebhook(created: SecretWritten['rotationWebhook']): void {
  if (!created) return;
  printLine();
  printLine(`rotation webhook: ${created.id} → ${created.url}`);
  printLine(`webhook secret: ${created.secret}`);
  printLine(
    '  This is the only time the signing secret is shown: give it to the rotator to verify deliveries.',
  );
}

function printMetadata(s: SecretMetadata): void {
  printFields([
    ['path', s.path],
    ['version', s.version],
    ['latest', s.latestVersion],
    ['pending', s.labels.pending],
    ['previous', s.labels.previous],
    ['versions', s.versions.map((v) => `${v.version}${v.destroyedAt ? ' (destroyed)' : ''}`)],
    ['rotation', s.rotation],
    ['rotation due', s.rotationDueAt],
    ['deleted', s.deletedAt],
  ]);
  printRotationWebhook(s.rotationWebhook);
}

async function readStdin(keepNewline: boolean): Promise<string> {
  if (process.stdin.isTTY) note('reading the value from standard input; end it with Ctrl-D');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  // `echo value | keyward secrets put` adds a newline nobody meant to store.
  return keepNewline ? text : text.replace(/\r?\n$/, '');
}

/** `NAME='value'`, or double quotes with escapes when the value has a quote or a newline. */
export function dotenvLine(v: SecretVariable): string {
  if (!/['\n\r]/.test(v.value)) return `${v.name}='${v.value}'`;
  const escaped = v.value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
  return `${v.name}="${escaped}"`;
}

interface PutOptions {
  expectedVersion?: number;
  meta?: Record<string, unknown>;
  pending?: boolean;
  rotateEvery?: number;
  rotationWebhook?: string;
  clearRotation?: boolean;
  keepNewline?: boolean;
  json?: boolean;
}

export function registerSecrets(program: Command): void {
  const group = program
    .command('secrets')
    .description('the vault: third-party credentials, encrypted, versioned and audited (see keyward run)');

  addJsonOption(
    group
      .command('put')
      .description('write a new version of a secret')
      .argument('<path>', 'e.g. payments/stripe-key')
      .argument('[value]', 'the value, or - (the default) to read it from standard input')
      .option(
        '--expected-version <n>',
        'write only if the latest version is n (0: only if new)',
        parseInteger(0),
      )
      .option('--meta <json>', 'a JSON object to keep with the secret', parseJsonObject)
      .option('--pending', 'a rotation: label the new version pending; current stays until `secrets confirm`')
      .option(
        '--rotate-every <duration>',
        'send secret.rotation_due when a version is this old (30d, 12h…)',
        parseDuration,
      )
      .option('--rotation-webhook <url>', 'also deliver secret.rotation_due to this http(s) URL')
      .option('--clear-rotation', 'remove the rotation policy')
      .option('--keep-newline', 'keep a trailing newline read from standard input'),
  ).action(async (path: string, value: string | undefined, opts: PutOptions) => {
    if (opts.clearRotation && (opts.rotateEvery !== undefined || opts.rotationWebhook !== undefined))
      throw new CliError(
        '--clear-rotation removes the rotation policy: it cannot go with --rotate-every or --rotation-webhook',
      );
    if (value !== undefined && value !== '-')
      note(
        'note: a value on the command line can end up in shell history and process listings; prefer - and stdin',
      );
    const fromStdin = value === undefined || value === '-';
    const body: SecretPut = { value: fromStdin ? await readStdin(opts.keepNewline === true) : value };
    // Empty input is a pipe that carried nothing (a file not found, an unset variable), not a
    // value: storing it would hand every reader an empty secret. An empty value said outright
    // (an argument of '') is still stored.
    if (fromStdin && body.value === '')
      throw new CliError(
        "standard input was empty: nothing stored (to store an empty value, pass '' as the value)",
      );
    if (opts.expectedVersion !== undefined) body.expectedVersion = opts.expectedVersion;
    if (opts.meta) body.meta = opts.meta;
    if (opts.pending) body.pending = true;
    if (opts.clearRotation) body.rotation = null;
    else if (opts.rotateEvery !== undefined)
      body.rotation = {
        maxAgeSeconds: opts.rotateEvery,
        ...(opts.rotationWebhook ? { webhook: opts.rotationWebhook } : {}),
      };
    else if (opts.rotationWebhook) throw new CliError('--rotation-webhook needs --rotate-every');
    const written = await clientFromEnv().put<SecretWritten>(secretUrl(path), body);
    if (opts.json) printJson(written);
    else {
      printFields([
        ['path', written.path],
        ['version', written.version],
        ['labels', written.labels],
      ]);
      printRotationWebhook(written.rotationWebhook);
    }
  });

  addJsonOption(
    group
      .command('get')
      .description('print the value of a secret (the current version unless told otherwise)')
      .argument('<path>', 'e.g. payments/stripe-key')
      .option('--version <n>', 'a version number', parseInteger(1))
      .addOption(new Option('--label <label>', 'a label').choices(['current', 'pending', 'previous'])),
  ).action(async (path: string, opts: { version?: number; label?: string; json?: boolean }) => {
    const secret = await clientFromEnv().get<SecretValue>(secretUrl(path), {
      version: opts.version,
      label: opts.label,
    });
    if (opts.json) printJson(secret);
    // Exactly the value, so `$(keyward secrets get …)` and pipes get what was stored.
    else process.stdout.write(process.stdout.isTTY ? `${secret.value}\n` : secret.value);
  });

  addListingOptions(
    group
      .command('list')
      .description('list secrets (names, versions, metadata; never values), newest first')
      .argument('[prefix]', 'only under this path (whole segments)')
      .option('--deleted', 'list soft-deleted secrets instead'),
  ).action(async (prefix: string | undefined, opts: ListingOptions & { deleted?: boolean }) => {
    if (prefix !== undefined) secretUrl(prefix);
    const page = await fetchListing<SecretMetadata>(
      clientFromEnv(),
      '/v1/secrets',
      { prefix, deleted: opts.deleted ? 'true' : undefined },
      opts,
    );
    if (opts.json) printJson(page);
    else printPage(page, columns, 'secrets');
  });

  group
    .command('delete')
    .description('delete a secret (soft: `secrets restore` brings it back)')
    .argument('<path>')
    .action(async (path: string) => {
      await clientFromEnv().delete(secretUrl(path));
      note(`deleted ${path} (restore it with: keyward secrets restore ${path})`);
    });

  const action = (name: 'restore' | 'destroy' | 'confirm', description: string, needsVersion: boolean) => {
    const cmd = addJsonOption(group.command(name).description(description).argument('<path>'));
    if (needsVersion) cmd.requiredOption('--version <n>', 'the version', parseInteger(1));
    cmd.action(async (path: string, opts: { version?: number; json?: boolean }) => {
      const body = opts.version !== undefined ? { version: opts.version } : {};
      const done = await clientFromEnv().post<SecretMetadata>(secretUrl(path, `:${name}`), body);
      if (opts.json) printJson(done);
      else printMetadata(done);
    });
  };
  action('restore', 'undo the soft delete of a secret', false);
  action('destroy', 'erase one version for good (its value and data key)', true);
  action('confirm', 'make a version current: finish a rotation (pending → current) or roll back', true);

  group
    .command('export')
    .description('print the secrets under PREFIX as a dotenv or JSON file (prefer keyward run)')
    .argument('<prefix...>', 'one or more path prefixes')
    .addOption(
      new Option('--format <format>', 'output format').choices(['dotenv', 'json']).makeOptionMandatory(),
    )
    .option('-o, --output <file>', 'write to this new file (mode 0600) instead of standard output')
    .action(async (prefixes: string[], opts: { format: 'dotenv' | 'json'; output?: string }) => {
      const vars = await fetchSecretVariables(clientFromEnv(), prefixes);
      const text =
        opts.format === 'json'
          ? `${JSON.stringify(Object.fromEntries(vars.map((v) => [v.name, v.value])), null, 2)}\n`
          : `${vars.map(dotenvLine).join('\n')}\n`;
      process.stderr.write(
        'warning: this writes secret values in plain text. Keep the file out of version control, ' +
          'delete it when done, and prefer `keyward run`, which writes nothing to disk.\n',
      );
      if (opts.output) {
        try {
          writeFileSync(opts.output, text, { mode: 0o600, flag: 'wx' });
        } catch (err) {
          const code = (err as { code?: string }).code;
          throw new CliError(
            `cannot write ${opts.output}${code === 'EEXIST' ? ': it exists' : ` (${code})`}`,
          );
        }
        note(`wrote ${vars.length} secrets to ${opts.output}`);
      } else process.stdout.write(text);
    });
}
