/**
 * The API's shapes, derived from the server's own schemas (types only: nothing of the server
 * is loaded at run time), so the CLI and the API cannot drift apart silently.
 */
import type { Static } from 'typebox';
import type {
  AuditEntry as AuditEntrySchema,
  AuditVerification as AuditVerificationSchema,
} from '../http/schemas/audit.js';
import type {
  KeyCreated as KeyCreatedSchema,
  KeyCreate as KeyCreateSchema,
  Key as KeySchema,
  KeyUpdate as KeyUpdateSchema,
  VerifyBody as VerifyBodySchema,
  VerifyResponse as VerifyResponseSchema,
} from '../http/schemas/keys.js';
import type {
  KeyspaceCreate as KeyspaceCreateSchema,
  Keyspace as KeyspaceSchema,
} from '../http/schemas/keyspaces.js';
import type { RootKey as RootKeySchema } from '../http/schemas/root-keys.js';
import type {
  SecretMetadata as SecretMetadataSchema,
  SecretPut as SecretPutSchema,
  SecretValue as SecretValueSchema,
  SecretWritten as SecretWrittenSchema,
} from '../http/schemas/secrets.js';

export type Keyspace = Static<typeof KeyspaceSchema>;
export type KeyspaceCreate = Static<typeof KeyspaceCreateSchema>;
export type Key = Static<typeof KeySchema>;
export type KeyCreate = Static<typeof KeyCreateSchema>;
export type KeyCreated = Static<typeof KeyCreatedSchema>;
export type KeyUpdate = Static<typeof KeyUpdateSchema>;
export type VerifyBody = Static<typeof VerifyBodySchema>;
export type VerifyAnswer = Static<typeof VerifyResponseSchema>;
export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditVerification = Static<typeof AuditVerificationSchema>;
export type RootKey = Static<typeof RootKeySchema>;
export type SecretMetadata = Static<typeof SecretMetadataSchema>;
export type SecretPut = Static<typeof SecretPutSchema>;
export type SecretValue = Static<typeof SecretValueSchema>;
export type SecretWritten = Static<typeof SecretWrittenSchema>;
