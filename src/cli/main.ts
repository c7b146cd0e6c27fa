import { Command, CommanderError } from 'commander';
import { describeError } from './client.js';
import { registerAudit } from './commands/audit.js';
import { registerIncidents } from './commands/incidents.js';
import { registerKeys } from './commands/keys.js';
import { registerKeyspaces } from './commands/keyspaces.js';
import { registerRootKeys } from './commands/root-keys.js';
import { registerRun } from './commands/run.js';
import { registerSecrets } from './commands/secrets.js';
import { registerVault } from './commands/vault.js';
import { registerServe } from './serve.js';

export function buildProgram(): Command {
  const program = new Command('keyward')
    .description('Keyward: issue, verify, rotate, revoke and audit API keys')
    .version('0.1.0')
    // Program options only before the subcommand: `secrets get PATH --version 3` is the subcommand's.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Commands other than serve, root-keys create and vault rotate-master-key talk to a
running server:
  KEYWARD_URL       the server (default http://127.0.0.1:7373)
  KEYWARD_ROOT_KEY  a root key, sent as the bearer token (never printed)
Commands that print an answer take --json to print the API's answer unchanged.
Exit status: 0 on success, 1 on any error (the server's detail goes to stderr),
and 1 when keys verify is not VALID or audit verify finds the chain broken.`,
    );
  registerServe(program);
  registerKeyspaces(program);
  registerKeys(program);
  registerAudit(program);
  registerIncidents(program);
  registerRootKeys(program);
  registerSecrets(program);
  registerRun(program);
  registerVault(program);
  markRequiredOptions(program);
  return program;
}

/** Commander's help shows a mandatory option like any other: say "(required)" in its line. */
function markRequiredOptions(command: Command): void {
  for (const option of command.options)
    if (option.mandatory) option.description = `${option.description} (required)`;
  for (const sub of command.commands) markRequiredOptions(sub);
}

/** Runs the CLI; every failure ends as one clear line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    for (const line of describeError(err)) process.stderr.write(`${line}\n`);
    process.exitCode = 1;
  }
}
