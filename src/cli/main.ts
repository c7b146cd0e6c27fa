import { Command, CommanderError } from 'commander';
import { KeywardError } from '../core/errors/index.js';
import { ConfigError } from '../server/config.js';
import { addOfflineCreate } from './root-keys-offline.js';
import { registerServe } from './serve.js';

export function buildProgram(): Command {
  const program = new Command('keyward')
    .description('Keyward: issue, verify, rotate, revoke and audit API keys')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  const rootKeys = program.command('root-keys').description('manage root keys (management credentials)');
  addOfflineCreate(rootKeys);
  return program;
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
    const message =
      err instanceof KeywardError || err instanceof ConfigError || err instanceof Error
        ? err.message
        : String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
  }
}
