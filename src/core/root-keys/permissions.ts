import { idPattern } from '../ids/index.js';

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
] as const;

export type PlainPermission = (typeof PLAIN_PERMISSIONS)[number];
export type KeysPermission = Extract<PlainPermission, `keys.${string}`>;

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

  constructor(readonly list: readonly string[]) {
    this.granted = new Set(list);
    this.all = this.granted.has('*');
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
    return narrowed?.[1] !== undefined && this.granted.has(narrowed[1]);
  }
}
