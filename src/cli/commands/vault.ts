import type { Command } from 'commander';
import { note } from '../output.js';
import { progressBar } from '../progress.js';

export function registerVault(program: Command): void {
  const group = program
    .command('vault')
    .description('administer the vault itself (offline, on the data directory)');

  group
    .command('rotate-master-key')
    .description('re-wrap every data key under a new master key, in one transaction')
    .option('--data <dir>', 'data directory of the server (env KEYWARD_DATA_DIR, default ./.keyward)')
    .option('--json', 'print { rewrapped, keyFile } as JSON')
    .addHelpText(
      'after',
      `
The current key is found as the server finds it (KEYWARD_MASTER_KEY, KEYWARD_MASTER_KEY_FILE,
or <data>/master.key). The new key is KEYWARD_NEW_MASTER_KEY (32 bytes, base64), or a fresh
random one. With a key file, the file is updated to the new key; with KEYWARD_MASTER_KEY,
KEYWARD_NEW_MASTER_KEY is required and becomes every node's KEYWARD_MASTER_KEY afterwards.
Values are not re-encrypted, only their data keys re-wrapped; the old key opens nothing
afterwards. Stop the servers first, or restart them all with the new key: a server still
holding the old key answers vault reads with MASTER_KEY_MISMATCH.`,
    )
    .action(async (opts: { data?: string; json?: boolean }) => {
      // Loaded on use: the online commands never need the store or its drivers.
      const { rotateMasterKeyOffline } = await import('../vault-offline.js');
      const bar = progressBar('re-sealing under the new master key');
      const result = await rotateMasterKeyOffline(opts, process.env, (done, total) =>
        bar.update(done, total),
      );
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      note(
        `re-wrapped ${result.rewrapped} data keys under the new master key` +
          (result.keyFile
            ? `; ${result.keyFile} now holds it`
            : '; set KEYWARD_MASTER_KEY to the new key on every node and restart them'),
      );
    });
}
