import type { Command } from 'commander';
import { clientFromEnv, pathOf } from '../client.js';
import { addJsonOption } from '../options.js';
import { type Column, printFields, printJson, printLine, printTable } from '../output.js';

interface Incident {
  id: string;
  reason: string;
  actor: string;
  status: string;
  keys: string[];
  createdAt: string;
  closedAt: string | null;
  notes: { at: string; actor: string; text: string }[];
  timeline: { at: string; keyId: string | null; event: string; detail: Record<string, unknown> }[];
  timelineTruncated: boolean;
  usage: {
    keyId: string;
    firstUsedAt: string | null;
    lastUsedAt: string | null;
    verifications: number;
    failures: number;
    distinctIps: number;
    attemptsAfterRevocation: number;
  }[];
}

const usageColumns: Column<Incident['usage'][number]>[] = [
  { header: 'KEY', value: (u) => u.keyId },
  { header: 'FIRST USE', value: (u) => u.firstUsedAt },
  { header: 'LAST USE', value: (u) => u.lastUsedAt },
  { header: 'CALLS', value: (u) => u.verifications },
  { header: 'FAILED', value: (u) => u.failures },
  { header: 'IPS', value: (u) => u.distinctIps },
  { header: 'AFTER REVOKE', value: (u) => u.attemptsAfterRevocation },
];

function printIncident(i: Incident, json: boolean | undefined): void {
  if (json) {
    printJson(i);
    return;
  }
  printFields([
    ['id', i.id],
    ['status', i.status],
    ['reason', i.reason],
    ['declared by', i.actor],
    ['declared at', i.createdAt],
    ['closed at', i.closedAt],
    ['keys revoked', i.keys.length],
  ]);
  for (const n of i.notes) printLine(`note ${n.at} (${n.actor}): ${n.text}`);
  if (i.usage.length > 0) {
    printLine();
    printLine('usage of the revoked keys from an hour before to an hour after:');
    printTable(i.usage, usageColumns);
  }
  if (i.timelineTruncated) printLine('(the timeline was truncated; see --json for the part shown)');
}

export function registerIncidents(program: Command): void {
  const group = program
    .command('incidents')
    .description('investigate emergency revocations: what was revoked, why, and how the keys were used');

  addJsonOption(
    group.command('get').description('show an incident').argument('<id>', 'incident id (inc_…)'),
  ).action(async (id: string, opts: { json?: boolean }) => {
    printIncident(await clientFromEnv().get<Incident>(pathOf('/v1/incidents', id)), opts.json);
  });

  addJsonOption(
    group
      .command('note')
      .description('add an investigation note (notes are kept, never edited)')
      .argument('<id>', 'incident id (inc_…)')
      .argument('<text>', 'the note'),
  ).action(async (id: string, text: string, opts: { json?: boolean }) => {
    printIncident(
      await clientFromEnv().patch<Incident>(pathOf('/v1/incidents', id), { note: text }),
      opts.json,
    );
  });

  for (const [name, status] of [
    ['close', 'closed'],
    ['reopen', 'open'],
  ] as const) {
    addJsonOption(
      group.command(name).description(`${name} an incident`).argument('<id>', 'incident id (inc_…)'),
    ).action(async (id: string, opts: { json?: boolean }) => {
      printIncident(
        await clientFromEnv().patch<Incident>(pathOf('/v1/incidents', id), { status }),
        opts.json,
      );
    });
  }
}
