export {
  KEY_BYTES,
  keyCheckOpens,
  MasterKey,
  MasterKeyFormatError,
  makeKeyCheck,
  openCredential,
  openVersion,
  rewrapDataKey,
  type SealedVersion,
  SealOpenError,
  sealCredential,
  sealVersion,
  type VersionRef,
} from './envelope.js';
export { ensureMasterKey, masterKeyMismatch, masterKeyOpens } from './master-key-check.js';
export { type RewrapProgress, rotateMasterKey } from './master-key-rotation.js';
export { recordDueRotations } from './rotation-due.js';
export {
  type CreatedRotationWebhook,
  checkRotationWebhook,
  syncRotationWebhook,
} from './rotation-webhook.js';
export {
  MAX_SECRET_BYTES,
  type SecretChange,
  type SecretSummary,
  type SecretValue,
  type SecretWrite,
  type VaultOptions,
  type WrittenSecret,
} from './secret-input.js';
export { SECRET_LABELS, type SecretLabel } from './secret-labels.js';
export {
  ENV_NAME,
  envNameOf,
  isUnderPrefix,
  MAX_PATH_LENGTH,
  parseSecretPath,
  SECRET_PATH_PATTERN,
} from './secret-path.js';
export { Vault } from './vault.js';
export { resealWebhookSecrets, sealPlaintextWebhookSecrets, WebhookSecretBox } from './webhook-secrets.js';
