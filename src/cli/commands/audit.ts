import type { Command } from 'commander';
import type { AuditEntry, AuditVerification } from '../api-types.js';
import { clientFromEnv } from '../client.js';
import { addJsonOption, addListingOptions, fetchListing, type ListingOptions } from '../options.js';
import { type Column, printJson, printLine, printPage } from '../output.js';

const columns: Column<AuditEntry>[] = [
  { header: 'SEQ', value: (e) => e.seq },
  { header: 'AT', value: (e) => e.at },
  { header: 'ACTOR', value: (e) => e.actor },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => e.targetId },
  { header: 'IP', value: (e) => e.ip },
];

export function registerAudit(program: Command): void {
  const group = program.command('audit').description('read and check the tamper-evident audit log');

  addListingOptions(
    group
      .command('list')
      .description('list audit entries, newest first')
      .option('--action <action>', 'only this action, exactly (e.g. key.revoked)')
      .option('--target <id>', 'only entries about this resource id'),
  ).action(async (opts: ListingOptions & { action?: string; target?: string }) => {
    const page = await fetchListing<AuditEntry>(
      clientFromEnv(),
      '/v1/audit',
      { action: opts.action, targetId: opts.target },
      opts,
    );
    if (opts.json) printJson(page);
    else printPage(page, columns, 'audit entries');
  });

  addJsonOption(
    group
      .command('verify')
      .description(
        "recompute the workspace's hash chain; exits 1 and names the first bad entry when it is broken",
      ),
  ).action(async (opts: { json?: boolean }) => {
    const result = await clientFromEnv().get<AuditVerification>('/v1/audit/verify');
    if (opts.json) printJson(result);
    else if (result.ok) printLine(`audit chain intact: ${result.checked} entries checked`);
    else
      printLine(
        `audit chain BROKEN: first bad entry is seq ${result.firstBadSeq ?? '?'} (${result.checked} entries checked)`,
      );
    if (!result.ok) process.exitCode = 1;
  });
}
