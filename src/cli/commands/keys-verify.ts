import type { Command } from 'commander';
import type { VerifyAnswer, VerifyBody } from '../api-types.js';
import { CliError, clientFromEnv } from '../client.js';
import { addJsonOption, parseInteger } from '../options.js';
import { printFields, printJson, printLine } from '../output.js';

interface VerifyOptions {
  scopes?: string;
  keyspace?: string;
  ip?: string;
  origin?: string;
  resource?: string;
  cost?: number;
  json?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').trim();
}

function verifyBody(key: string, o: VerifyOptions): VerifyBody {
  const body: VerifyBody = { key };
  if (o.keyspace !== undefined) body.keyspaceId = o.keyspace;
  if (o.scopes !== undefined) body.scopes = o.scopes;
  if (o.ip !== undefined) body.ip = o.ip;
  if (o.origin !== undefined) body.origin = o.origin;
  if (o.resource !== undefined) body.resource = o.resource;
  if (o.cost !== undefined) body.cost = o.cost;
  return body;
}

function printAnswer(a: VerifyAnswer): void {
  // The code first, on a line of its own, so `keyward keys verify K | head -1` is the outcome.
  printLine(a.code);
  if (a.keyId === undefined) return;
  printFields([
    ['key', a.keyId],
    ['keyspace', a.keyspaceId],
    ['name', a.name],
    ['owner', a.ownerId],
    ['scopes', a.scopes],
    ['expires', a.expiresAt ?? 'never'],
    ...(a.credits ? [['credits left', a.credits.remaining] as [string, unknown]] : []),
    ...(a.ratelimits ? [['ratelimits', a.ratelimits] as [string, unknown]] : []),
    ['meta', a.meta],
  ]);
}

export function registerKeyVerify(group: Command): void {
  addJsonOption(
    group
      .command('verify')
      .description(
        'verify a key as your API would; exits 0 only when the code is VALID, otherwise prints the code and exits 1',
      )
      .argument('<key>', 'the key to check, or - to read it from stdin (keeps it out of shell history)')
      .option('--scopes <expr>', 'required scopes, e.g. "docs.read AND (billing.read OR admin)"')
      .option('--keyspace <id>', 'only accept keys of this keyspace')
      .option('--ip <ip>', "the end user's IP address, checked against the key's restrictions")
      .option('--origin <origin>', "the end user's Origin, checked against the key's restrictions")
      .option('--resource <resource>', 'what was accessed, for the usage log')
      .option('--cost <n>', 'credits and rate limit to spend (default 1; 0 only checks)', parseInteger(0)),
  ).action(async (keyArg: string, opts: VerifyOptions) => {
    const key = keyArg === '-' ? await readStdin() : keyArg;
    if (key === '') throw new CliError(keyArg === '-' ? 'no key given on stdin' : 'the key is empty');
    const answer = await clientFromEnv().post<VerifyAnswer>('/v1/keys/verify', verifyBody(key, opts));
    if (opts.json) printJson(answer);
    else printAnswer(answer);
    if (answer.code !== 'VALID') process.exitCode = 1;
  });
}
