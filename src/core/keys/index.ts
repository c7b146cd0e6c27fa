export { recordExpiringKeys } from './expiry-reminders.js';
export {
  checksum,
  DEFAULT_PREFIX,
  type GeneratedKey,
  generateKey,
  hashKey,
  hasValidChecksum,
  isValidPrefix,
  MAX_KEY_LENGTH,
  PREFIX_PATTERN,
} from './key-format.js';
export { checkMeta, type KeyInput, MAX_META_BYTES, MAX_META_DEPTH } from './key-input.js';
export { effectiveStatus, type KeyStatus, type KeyView, keyView } from './key-view.js';
export { type CreatedKey, type CreditsChange, Keys, type KeyUpdate } from './keys.js';
export { REDACTED, scrubKeys, scrubKeyText } from './scrub.js';
export type {
  SystemCause,
  SystemDisableOutcome,
  SystemRefusal,
  SystemRotation,
  SystemRotationOutcome,
} from './system-change.js';
