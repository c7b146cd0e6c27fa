/**
 * The vault's part of the store: secrets (one row per path, with its labels and policy),
 * their versions (ciphertext and wrapped data key, never a plaintext), and the master-key
 * check value. Times are epoch milliseconds.
 */

export interface SecretRotation {
  /** The current version is due for rotation this long after it became current. */
  maxAgeSeconds: number;
  /** Where `secret.rotation_due` is also delivered (besides the workspace's webhooks). */
  webhook?: string | undefined;
}

export interface SecretRecord {
  workspaceId: string;
  path: string;
  meta: Record<string, unknown>;
  rotation: SecretRotation | null;
  /** The highest version number ever written; the next write is `latestVersion + 1`. */
  latestVersion: number;
  /** What a read without `version` answers. */
  currentVersion: number | null;
  /** Written by a rotation and not yet confirmed. */
  pendingVersion: number | null;
  /** What `current` was before the last promotion; readable until the next one. */
  previousVersion: number | null;
  /** When `currentVersion` became current. */
  currentSince: number | null;
  /** `currentSince + rotation.maxAgeSeconds`; null without a rotation policy. */
  rotationDueAt: number | null;
  /** The version for which `secret.rotation_due` was already recorded (once per version). */
  rotationNotifiedVersion: number | null;
  createdAt: number;
  updatedAt: number;
  /** Set by a soft delete; cleared by a restore or a new write. */
  deletedAt: number | null;
}

export interface SecretVersionRecord {
  workspaceId: string;
  path: string;
  version: number;
  /** base64 of the sealed value; null once destroyed. */
  ciphertext: string | null;
  /** base64 of the sealed data key; null once destroyed. */
  wrappedKey: string | null;
  createdAt: number;
  /** The root key (or `system`/`cli`) that wrote it. */
  createdBy: string;
  destroyedAt: number | null;
}

/** A version without its sealed bytes, for listings. */
export type SecretVersionMeta = Omit<SecretVersionRecord, 'ciphertext' | 'wrappedKey'>;

export interface SecretPatch {
  meta?: Record<string, unknown>;
  rotation?: SecretRotation | null;
  latestVersion?: number;
  currentVersion?: number | null;
  pendingVersion?: number | null;
  previousVersion?: number | null;
  currentSince?: number | null;
  rotationDueAt?: number | null;
  deletedAt?: number | null;
  updatedAt: number;
}

export interface SecretListFilter {
  /** Whole-segment prefix: `payments` lists `payments` and `payments/…`, not `payments2`. */
  prefix?: string | undefined;
  /** true: only soft-deleted secrets; false: only live ones. */
  deleted: boolean;
  /** Newest first (by `createdAt`, then `path`); the position of the last row already seen. */
  after?: { createdAt: number; path: string } | undefined;
  limit: number;
}

/** A wrapped data key and the version it belongs to, for master-key rotation. */
export interface WrappedKeyRef {
  workspaceId: string;
  path: string;
  version: number;
  wrappedKey: string;
}

export type VersionPosition = Pick<WrappedKeyRef, 'workspaceId' | 'path' | 'version'>;

export interface VaultStoreOps {
  getSecret(workspaceId: string, path: string): Promise<SecretRecord | undefined>;
  /** Throws UniqueViolation when the path exists in the workspace (deleted or not). */
  insertSecret(secret: SecretRecord): Promise<void>;
  /**
   * Applies `patch`. With `guard`, only while the row's `latestVersion` still equals
   * `guard.latestVersion` (check-and-set). Resolves to whether a row was changed.
   */
  updateSecret(
    workspaceId: string,
    path: string,
    patch: SecretPatch,
    guard?: { latestVersion: number },
  ): Promise<boolean>;
  listSecrets(workspaceId: string, filter: SecretListFilter): Promise<SecretRecord[]>;

  insertSecretVersion(version: SecretVersionRecord): Promise<void>;
  getSecretVersion(
    workspaceId: string,
    path: string,
    version: number,
  ): Promise<SecretVersionRecord | undefined>;
  /** The versions of these paths, without sealed bytes, ordered by path then version. */
  listSecretVersions(workspaceId: string, paths: string[]): Promise<SecretVersionMeta[]>;
  /** Removes versions entirely (pruning beyond the versions kept). */
  deleteSecretVersions(workspaceId: string, path: string, versions: number[]): Promise<void>;
  /** Erases the sealed bytes of a version for good; false when it does not exist or was destroyed. */
  destroySecretVersion(workspaceId: string, path: string, version: number, at: number): Promise<boolean>;

  /**
   * Live secrets of every workspace whose current version is due (`rotationDueAt <= now`) and
   * not yet notified, oldest due first.
   */
  listSecretsDueForRotation(now: number, limit: number): Promise<SecretRecord[]>;
  /**
   * Records that `version` was notified, only if it is still current and was not notified yet.
   * The one node whose update changed the row sends the event: once per version, cluster-wide.
   */
  markSecretRotationNotified(workspaceId: string, path: string, version: number): Promise<boolean>;

  /** How many versions still hold a wrapped data key. */
  countWrappedKeys(): Promise<number>;
  /** Wrapped data keys of every workspace, ordered by (workspace, path, version), after `after`. */
  scanWrappedKeys(after: VersionPosition | undefined, limit: number): Promise<WrappedKeyRef[]>;
  updateWrappedKey(position: VersionPosition, wrappedKey: string): Promise<void>;

  getMasterKeyCheck(): Promise<string | undefined>;
  /** Stores the check value unless one exists; resolves to whether it was stored. */
  insertMasterKeyCheck(check: string, at: number): Promise<boolean>;
  replaceMasterKeyCheck(check: string, at: number): Promise<void>;
}
