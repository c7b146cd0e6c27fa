import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { CliError, clientFromEnv } from '../client.js';
import { collect } from '../options.js';
import { note } from '../output.js';
import { fetchSecretVariables } from '../secret-env.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `command` with `env`, forwarding SIGINT, SIGTERM and SIGHUP to it, and resolves to the
 * exit status a shell would report: the child's code, or 128 + the signal that killed it.
 */
export function runChild(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.reject(new CliError('no command to run: put it after --'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal);
    };
    const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      done();
      // What a shell answers: 127 for a command that is not there, 126 for one it cannot run.
      if (err.code === 'ENOENT') note(`keyward run: ${file}: command not found`);
      else note(`keyward run: cannot run ${file}: ${err.message}`);
      if (err.code === 'ENOENT' || err.code === 'EACCES') resolve(err.code === 'ENOENT' ? 127 : 126);
      else reject(err);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run a command with the secrets under each --path in its environment; nothing is written to disk',
    )
    .requiredOption('--path <prefix>', 'secrets under this path (whole segments); repeat for more', collect)
    .option('--pass-root-key', 'let the command see KEYWARD_ROOT_KEY too (it does not by default)')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText(
      'after',
      `
Each secret becomes one variable: its last path segment, upper-cased, other characters as _
(payments/stripe-key -> STRIPE_KEY). Two secrets with one name, or a name that would start
with a digit, are an error. Secrets override variables of the same name already set.
The exit status is the command's (128 + the signal number if a signal ended it).

Example:
  keyward run --path payments --path quotes -- node server.js`,
    )
    .action(async (command: string[], opts: { path: string[]; passRootKey?: boolean }) => {
      const vars = await fetchSecretVariables(clientFromEnv(), opts.path);
      const env: NodeJS.ProcessEnv = { ...process.env };
      // The command is handed third-party secrets, not the key that reads the whole vault.
      if (!opts.passRootKey) delete env.KEYWARD_ROOT_KEY;
      const overridden = vars.filter((v) => env[v.name] !== undefined).map((v) => v.name);
      if (overridden.length > 0)
        note(`keyward run: secrets override ${overridden.join(', ')} from the environment`);
      for (const v of vars) env[v.name] = v.value;
      process.exitCode = await runChild(command, env);
    });
}
