import { idPattern } from '../ids/index.js';
import { compileSecretGlob, type SecretGlob } from './secret-glob.js';

/** Permissions that stand alone. `*` grants everything. */
export const PLAIN_PERMISSIONS = [
  '*',
  'keyspaces.read',
  'keyspaces.write',
  'keys.create',
  'keys.read',
  'keys.update',
  'keys.rotate',
  'keys.revoke',
  'keys.delete',
  'keys.verify',
  'usage.read',
  'audit.read',
  'webhooks.write',
  'alerts.write',
  'root_keys.write',
  'ratelimit.limit',
] as const;

export type PlainPermission = (typeof PLAIN_PERMISSIONS)[number];
export type KeysPermission = Extract<PlainPermission, `keys.${string}`>;
export type SecretAccess = 'read' | 'write';

const KEYS_NARROWED = new RegExp(
  `^keys\\.(create|read|update|rotate|revoke|delete|verify):${idPattern('keyspace').slice(1)}`,
);
const SECRETS = /^secrets\.(read|write):[A-Za-z0-9._\-/*]{1,256}$/;
const plain = new Set<string>(PLAIN_PERMISSIONS);

export function isValidPermission(p: string): boolean {
  return plain.has(p) || KEYS_NARROWED.test(p) || SECRETS.test(p);
}

/** The permissions of one root key, compiled for fast checks. */
export class PermissionSet {
  private readonly all: boolean;
  private readonly granted: ReadonlySet<string>;
  private readonly secretGlobs: Record<SecretAccess, SecretGlob[]> = { read: [], write: [] };

  constructor(readonly list: readonly string[]) {
    this.granted = new Set(list);
    this.all = this.granted.has('*');
    for (const p of list) {
      const m = SECRETS.test(p) ? /^secrets\.(read|write):(.+)$/.exec(p) : null;
      if (m?.[1] && m[2]) this.secretGlobs[m[1] as SecretAccess].push(compileSecretGlob(m[2]));
    }
  }

  /** Whether `secrets.<access>:<glob>` (or `*`) grants this path; see secret-glob.ts for the rules. */
  canSecret(access: SecretAccess, path: string): boolean {
    return this.all || this.secretGlobs[access].some((covers) => covers(path));
  }

  /** Whether any `secrets.<access>` grant is held at all. */
  hasAnySecret(access: SecretAccess): boolean {
    return this.all || this.secretGlobs[access].length > 0;
  }

  /** Whether `permission` is held for everything (not merely for one keyspace). */
  has(permission: PlainPermission): boolean {
    return this.all || this.granted.has(permission);
  }

  /** Whether a `keys.*` permission is held for the given keyspace, whole or narrowed to it. */
  hasFor(permission: KeysPermission, keyspaceId: string): boolean {
    return this.has(permission) || this.granted.has(`${permission}:${keyspaceId}`);
  }

  /** Whether a `keys.*` permission is held for at least one keyspace. */
  hasAny(permission: KeysPermission): boolean {
    if (this.has(permission)) return true;
    const prefix = `${permission}:`;
    for (const p of this.granted) if (p.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Whether this set may hand `permission` to a new root key: only what it holds itself, so
   * `root_keys.write` is not a way to escalate to `*`.
   */
  covers(permission: string): boolean {
    if (this.all || this.granted.has(permission)) return true;
    const narrowed = /^(keys\.[a-z]+):/.exec(permission);
    if (narrowed?.[1] !== undefined && this.granted.has(narrowed[1])) return true;
    // A grant over every path (`secrets.read:*` or `:**`) may hand out any narrower one.
    const secrets = /^(secrets\.(?:read|write)):/.exec(permission);
    return (
      secrets?.[1] !== undefined &&
      (this.granted.has(`${secrets[1]}:*`) || this.granted.has(`${secrets[1]}:**`))
    );
  }
}
