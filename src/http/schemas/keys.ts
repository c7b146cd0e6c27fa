import { Type } from 'typebox';

import { MAX_EXPRESSION_LENGTH } from '../../core/verification/index.js';
import { Id, IsoTime, Metadata, Nullable, PageQuery, ShortText } from './common.js';
import { GrantedScopes, RateLimitSpec } from './keyspaces.js';

const Refill = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: 1e12 }),
    interval: Type.Union([Type.Literal('daily'), Type.Literal('monthly')]),
    day: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 31,
        description:
          'Monthly refills: day of the month (default 1); 31 refills on the last day of shorter months',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Daily at 00:00 UTC or monthly; the balance is raised to `amount`, never lowered',
  },
);

const CreditsSet = Type.Object(
  {
    remaining: Type.Integer({ minimum: 0, maximum: 1e12 }),
    refill: Type.Optional(Nullable(Refill)),
    lowThreshold: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e12,
        description: 'Record a `credits.low` event when the balance falls below this',
      }),
    ),
  },
  { additionalProperties: false },
);

const CreditsIncrement = Type.Object(
  {
    increment: Type.Integer({
      minimum: -1e12,
      maximum: 1e12,
      description: 'Added atomically (may be negative)',
    }),
  },
  { additionalProperties: false },
);

const Restrictions = Type.Object(
  {
    ips: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 500,
        description: 'Addresses or CIDR ranges, IPv4 or IPv6',
      }),
    ),
    origins: Type.Optional(
      Type.Array(Type.String({ maxLength: 2048 }), {
        maxItems: 500,
        description: 'Origins like https://app.example.com',
      }),
    ),
  },
  { additionalProperties: false },
);

const Name = Nullable(ShortText(200));
const OwnerId = Nullable(ShortText(200, 'Who the key is issued to (your user or customer id)'));

export const KeyCreate = Type.Object(
  {
    name: Type.Optional(Name),
    ownerId: Type.Optional(OwnerId),
    meta: Type.Optional(Metadata),
    scopes: Type.Optional(GrantedScopes),
    expiresAt: Type.Optional(Nullable(IsoTime('When the key stops working; null for never'))),
    credits: Type.Optional(Nullable(CreditsSet)),
    ratelimits: Type.Optional(Type.Array(RateLimitSpec, { maxItems: 20 })),
    restrictions: Type.Optional(Restrictions),
  },
  { additionalProperties: false },
);

export const KeyUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    ownerId: Type.Optional(OwnerId),
    meta: Type.Optional(Metadata),
    scopes: Type.Optional(GrantedScopes),
    expiresAt: Type.Optional(Nullable(IsoTime())),
    credits: Type.Optional(Type.Union([CreditsSet, CreditsIncrement, Type.Null()])),
    ratelimits: Type.Optional(Type.Array(RateLimitSpec, { maxItems: 20 })),
    restrictions: Type.Optional(Restrictions),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('disabled')], {
        description: 'Disable or re-enable the key',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const keyProperties = {
  id: Id('key'),
  keyspaceId: Id('keyspace'),
  start: Type.String({ description: 'Prefix, `_`, and the first 4 random characters: a display hint' }),
  name: Nullable(Type.String()),
  ownerId: Nullable(Type.String()),
  meta: Metadata,
  scopes: Type.Array(Type.String()),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('disabled'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
  expiresAt: Nullable(IsoTime()),
  createdAt: IsoTime(),
  updatedAt: IsoTime(),
  lastUsedAt: Nullable(IsoTime()),
  revokedAt: Nullable(IsoTime()),
  credits: Nullable(
    Type.Object({
      remaining: Type.Integer(),
      refill: Nullable(
        Type.Object({ amount: Type.Integer(), interval: Type.String(), day: Type.Optional(Type.Integer()) }),
      ),
      lowThreshold: Type.Optional(Type.Integer()),
    }),
  ),
  ratelimits: Type.Array(RateLimitSpec),
  restrictions: Type.Object({ ips: Type.Array(Type.String()), origins: Type.Array(Type.String()) }),
  replaces: Nullable(Type.String({ description: 'The key this one replaced in a rotation' })),
  replacedBy: Nullable(Type.String({ description: 'The key that replaced this one' })),
};

export const Key = Type.Object(keyProperties, {
  $id: 'Key',
  description: 'A key. It never contains the plaintext or its hash.',
});

export const KeyCreated = Type.Object(
  { ...keyProperties, key: Type.String({ description: 'The plaintext key: shown this once, never again' }) },
  { $id: 'KeyCreated' },
);

export const KeyParams = Type.Object({ id: Id('key') });

export const KeyListQuery = Type.Object(
  {
    ownerId: Type.Optional(ShortText(200)),
    status: Type.Optional(
      Type.Union([
        Type.Literal('active'),
        Type.Literal('disabled'),
        Type.Literal('revoked'),
        Type.Literal('expired'),
      ]),
    ),
    expiresBefore: Type.Optional(
      IsoTime('Only keys still working that stop at or before this moment (e.g. now + 7 days)'),
    ),
    due: Type.Optional(Type.Boolean({ description: 'Only keys marked due by the keyspace rotation policy' })),
    replaced: Type.Optional(
      Type.Boolean({
        description:
          'Only keys already replaced by a rotation (true) or not (false). With `lastUsedAt`, shows consumers that have not switched',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const RevokeBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const RotateBody = Type.Object(
  {
    gracePeriodSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 365 * 86400,
        description: 'How long the old key keeps working (default 0)',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export const VerifyBody = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 512, description: 'The key presented by your consumer' }),
    keyspaceId: Type.Optional(Id('keyspace', 'Only accept keys of this keyspace')),
    scopes: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_EXPRESSION_LENGTH,
        description: 'e.g. `docs.read AND (billing.read OR admin)`',
      }),
    ),
    cost: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, default: 1 })),
    ip: Type.Optional(Type.String({ maxLength: 64, description: 'The end user’s IP address' })),
    origin: Type.Optional(Type.String({ maxLength: 2048, description: 'The end user’s Origin header' })),
    resource: Type.Optional(
      Type.String({ maxLength: 512, description: 'What was accessed, for the usage log' }),
    ),
  },
  { additionalProperties: false },
);

export const VerifyCode = Type.Union([
  Type.Literal('VALID'),
  Type.Literal('NOT_FOUND'),
  Type.Literal('DISABLED'),
  Type.Literal('REVOKED'),
  Type.Literal('EXPIRED'),
  Type.Literal('FORBIDDEN'),
  Type.Literal('INSUFFICIENT_SCOPES'),
  Type.Literal('RATE_LIMITED'),
  Type.Literal('USAGE_EXCEEDED'),
]);

export const VerifyResponse = Type.Object(
  {
    valid: Type.Boolean(),
    code: VerifyCode,
    keyId: Type.Optional(Type.String()),
    keyspaceId: Type.Optional(Type.String()),
    ownerId: Type.Optional(Nullable(Type.String())),
    name: Type.Optional(Nullable(Type.String())),
    meta: Type.Optional(Metadata),
    scopes: Type.Optional(Type.Array(Type.String())),
    expiresAt: Type.Optional(Nullable(IsoTime())),
    credits: Type.Optional(Type.Object({ remaining: Type.Integer() })),
    ratelimits: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          limit: Type.Integer(),
          remaining: Type.Integer(),
          resetAt: IsoTime(),
        }),
      ),
    ),
  },
  { $id: 'VerifyResult', description: 'Always 200 for a well-formed request; `code` says the outcome' },
);
