import { Type } from 'typebox';
import { MAX_PATH_LENGTH, SECRET_LABELS, SECRET_PATH_PATTERN } from '../../core/vault/index.js';
import { IsoTime, Metadata, Nullable, PageQuery } from './common.js';

const PATH_DESCRIPTION =
  '`/`-separated segments of `A-Za-z0-9._-` (not `.` or `..`), e.g. `payments/stripe-key`; at most 512 characters';

export const SecretPath = Type.String({
  pattern: SECRET_PATH_PATTERN,
  maxLength: MAX_PATH_LENGTH,
  description: PATH_DESCRIPTION,
});

/** How the path arrives: Fastify's wildcard. Validated (with a clear message) by the vault itself. */
export const WildcardParams = Type.Object({ '*': Type.String() });

/** How the path is documented. */
export const SecretParams = Type.Object({ path: SecretPath });

export const SecretAction = Type.Union(
  [Type.Literal('restore'), Type.Literal('destroy'), Type.Literal('confirm')],
  {
    description:
      '`restore` undoes a soft delete; `destroy` erases `version` for good; `confirm` makes `version` current (the end of a rotation, or a rollback)',
  },
);

export const SecretActionParams = Type.Object({ path: SecretPath, action: SecretAction });

export const Label = Type.Union(
  [Type.Literal(SECRET_LABELS[0]), Type.Literal(SECRET_LABELS[1]), Type.Literal(SECRET_LABELS[2])],
  {
    description:
      '`current` (what a read answers), `pending` (written by a rotation, not yet confirmed) or `previous`',
  },
);

export const SecretRotation = Type.Object(
  {
    maxAgeSeconds: Type.Integer({
      minimum: 60,
      maximum: 100 * 365 * 86400,
      description:
        'Seconds after a version became current when `secret.rotation_due` is sent (once per version)',
    }),
    webhook: Type.Optional(
      Type.String({
        pattern: '^https?://\\S+$',
        maxLength: 2048,
        description:
          'An http(s) URL that also receives `secret.rotation_due`: a rotator that fetches a new value and PUTs it back',
      }),
    ),
  },
  { additionalProperties: false, description: 'Rotation reminder for a held secret' },
);

export const SecretPut = Type.Object(
  {
    value: Type.String({
      description:
        'The secret, as text: at most 64 KiB (65,536 bytes of UTF-8), more answers 413 `SECRET_TOO_LARGE`. Encrypted at rest; never logged or audited',
    }),
    meta: Type.Optional(Metadata),
    expectedVersion: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Check-and-set: write only if the latest version is this one (0: only if the secret does not exist yet); otherwise 409 `SECRET_VERSION_MISMATCH`',
      }),
    ),
    pending: Type.Optional(
      Type.Boolean({
        description:
          'A rotation’s write: label the new version `pending` and keep `current` where it is until `:confirm` (default false: the new version becomes current at once)',
      }),
    ),
    rotation: Type.Optional(
      Type.Union([SecretRotation, Type.Null()], {
        description: 'Sets the rotation policy; null removes it; absent keeps it',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SecretPatch = Type.Object(
  {
    meta: Type.Optional(Metadata),
    rotation: Type.Optional(
      Type.Union([SecretRotation, Type.Null()], { description: 'Sets the rotation policy; null removes it' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Labels = Type.Array(Label, { description: 'The labels this version holds' });

/** In the answer of the write or change that set a new `rotation.webhook`, and only there. */
const RotationWebhookCreated = Type.Optional(
  Type.Object(
    {
      id: Type.String({
        description:
          'The endpoint (`wh_…`) that delivers this secret’s `secret.rotation_due`: listed by GET /v1/webhooks with `secretPath`, its deliveries at /v1/webhooks/{id}/deliveries',
      }),
      url: Type.String(),
      secret: Type.String({
        description:
          'Its signing secret (`whsec_…`), shown this once: the rotator verifies deliveries with it (Standard Webhooks). The same URL keeps its secret on later writes; a new URL gets a new one',
      }),
    },
    { description: 'Present only when this call set a new `rotation.webhook`' },
  ),
);

export const SecretWritten = Type.Object({
  path: SecretPath,
  version: Type.Integer({ minimum: 1, description: 'The version just written' }),
  createdAt: IsoTime(),
  labels: Labels,
  rotationWebhook: RotationWebhookCreated,
});

export const SecretValue = Type.Object(
  {
    path: SecretPath,
    version: Type.Integer({ minimum: 1 }),
    value: Type.String({ description: 'The plaintext' }),
    createdAt: IsoTime('When this version was written'),
    labels: Labels,
    meta: Metadata,
  },
  { $id: 'SecretValue' },
);

export const SecretGetQuery = Type.Object(
  {
    version: Type.Optional(
      Type.Integer({ minimum: 1, description: 'A version number (default: the current one)' }),
    ),
    label: Type.Optional(Label),
  },
  { additionalProperties: false },
);

const VersionNumber = (description: string) => Nullable(Type.Integer({ minimum: 1, description }));

export const SecretMetadata = Type.Object(
  {
    path: SecretPath,
    version: VersionNumber('The current version (what a read answers); null before one exists'),
    latestVersion: Type.Integer({ minimum: 1, description: 'The highest version number written' }),
    labels: Type.Object({
      current: VersionNumber('The version labelled current'),
      pending: VersionNumber('A version written by a rotation and not yet confirmed'),
      previous: VersionNumber('What current was before the last promotion'),
    }),
    versions: Type.Array(
      Type.Object({
        version: Type.Integer({ minimum: 1 }),
        createdAt: IsoTime(),
        createdBy: Type.String({ description: 'The root key (`rk_…`) that wrote it' }),
        destroyedAt: Nullable(IsoTime('When it was destroyed; its value is gone')),
        labels: Labels,
      }),
      { description: 'The versions kept, oldest first' },
    ),
    meta: Metadata,
    rotation: Type.Union([SecretRotation, Type.Null()], { description: 'The rotation policy, if any' }),
    rotationDueAt: Nullable(IsoTime('When the current version becomes due for rotation')),
    createdAt: IsoTime(),
    updatedAt: IsoTime(),
    deletedAt: Nullable(IsoTime('Set while soft-deleted')),
    rotationWebhook: RotationWebhookCreated,
  },
  { $id: 'SecretMetadata', description: 'A secret without its values' },
);

export const SecretListQuery = Type.Object(
  {
    ...PageQuery,
    prefix: Type.Optional(
      Type.String({
        maxLength: MAX_PATH_LENGTH,
        description: 'Whole segments: `payments` lists `payments` and `payments/…`, not `payments2`',
      }),
    ),
    deleted: Type.Optional(
      Type.Boolean({ description: 'true: list only soft-deleted secrets (default false)' }),
    ),
  },
  { additionalProperties: false },
);

export const SecretActionBody = Type.Optional(
  Type.Object(
    {
      version: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: 'The version to destroy or confirm (required for those two)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
