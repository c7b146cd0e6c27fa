import { envNameOf, parseSecretPath } from '../core/vault/index.js';
import type { SecretMetadata, SecretValue } from './api-types.js';
import { type ApiClient, CliError } from './client.js';
import { fetchListing } from './options.js';

/** `/v1/secrets/<path>`: segments are URL-safe once validated, and validation refuses `.` and `..`. */
export function secretUrl(path: string, suffix = ''): string {
  let valid: string;
  try {
    valid = parseSecretPath(path);
  } catch {
    throw new CliError(
      `not a secret path: ${JSON.stringify(path)} (segments of A-Za-z0-9._- separated by /, e.g. payments/stripe-key)`,
    );
  }
  return `/v1/secrets/${valid.split('/').map(encodeURIComponent).join('/')}${suffix}`;
}

/** One variable to inject: its name, the secret it comes from, and the value. */
export interface SecretVariable {
  name: string;
  path: string;
  version: number;
  value: string;
}

/**
 * The current value of every secret under each prefix (whole segments), named by CONTRACT.md's
 * rule: the last segment, upper-cased, other characters as `_`. Two secrets that map to one
 * name, or a name that is not a valid variable, are an error that names the paths — never a
 * silent choice. Values are held in memory only.
 */
export async function fetchSecretVariables(api: ApiClient, prefixes: string[]): Promise<SecretVariable[]> {
  const paths = new Set<string>();
  for (const prefix of prefixes) {
    secretUrl(prefix); // validates
    const listing = await fetchListing<SecretMetadata>(api, '/v1/secrets', { prefix }, { all: true });
    const found = listing.items.filter((s) => s.version !== null).map((s) => s.path);
    if (found.length === 0)
      throw new CliError(
        `no secrets under ${prefix} (or none this root key may read: secrets.read:${prefix}/*)`,
      );
    for (const path of found) paths.add(path);
  }
  // Names first, values after: a mapping problem is reported before any value is read.
  const byName = new Map<string, string>();
  const problems: string[] = [];
  for (const path of [...paths].sort()) {
    const name = envNameOf(path);
    const seen = name === null ? undefined : byName.get(name);
    if (name === null)
      problems.push(
        `${path}: its last segment does not make a valid variable name (it would start with a digit)`,
      );
    else if (seen !== undefined) problems.push(`${name} would come from both ${seen} and ${path}`);
    else byName.set(name, path);
  }
  if (problems.length > 0)
    throw new CliError(
      `cannot map these secrets to environment variables:\n  ${problems.join('\n  ')}\n` +
        'rename the secrets, or narrow --path so each name comes from one secret',
    );
  const out: SecretVariable[] = [];
  for (const [name, path] of byName) {
    const secret = await api.get<SecretValue>(secretUrl(path));
    out.push({ name, path, version: secret.version, value: secret.value });
  }
  return out;
}
