/** The vault's tables as Kysely sees them (see migration `0003_vault`). Binary data is base64 text. */
export interface SecretsTable {
  workspace_id: string;
  path: string;
  meta: string;
  rotation: string | null;
  latest_version: number;
  current_version: number | null;
  pending_version: number | null;
  previous_version: number | null;
  current_since: number | null;
  rotation_due_at: number | null;
  rotation_notified_version: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface SecretVersionsTable {
  workspace_id: string;
  path: string;
  version: number;
  ciphertext: string | null;
  wrapped_key: string | null;
  created_at: number;
  created_by: string;
  destroyed_at: number | null;
}

/** One row (`id = 'master'`): the key-check value that tells a wrong master key at start. */
export interface VaultMasterKeyTable {
  id: string;
  check_value: string;
  created_at: number;
  rotated_at: number | null;
}

export interface VaultTables {
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  vault_master_key: VaultMasterKeyTable;
}
