import { Type } from 'typebox';
import { PREFIX_PATTERN } from '../../core/keys/index.js';
import { GRANTED_SCOPE_PATTERN } from '../../core/verification/index.js';
import { Id, IsoTime, ShortText } from './common.js';

export const RateLimitSpec = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    windowMs: Type.Integer({
      minimum: 1,
      maximum: 31 * 24 * 3600 * 1000,
      description: 'Window length in milliseconds',
    }),
  },
  { additionalProperties: false },
);

export const GrantedScopes = Type.Array(Type.String({ pattern: GRANTED_SCOPE_PATTERN, maxLength: 128 }), {
  maxItems: 1000,
  description: 'Scopes granted; `x.*` grants every scope starting with `x.`, `*` grants all',
});

const Defaults = Type.Object(
  {
    ratelimits: Type.Optional(Type.Array(RateLimitSpec, { maxItems: 20 })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 * 365 * 86400 })),
    scopes: Type.Optional(GrantedScopes),
    creditsLowThreshold: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e12,
        description: 'Default `credits.lowThreshold` of keys with credits',
      }),
    ),
  },
  { additionalProperties: false },
);

const Rotation = Type.Object(
  {
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 100 * 365 * 86400 })),
    gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86400 })),
    selfRotation: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const KeyspaceCreate = Type.Object(
  {
    name: ShortText(100, 'Unique within the workspace'),
    prefix: Type.Optional(Type.String({ pattern: PREFIX_PATTERN, description: 'Key prefix (default `kw`)' })),
    defaults: Type.Optional(Defaults),
    rotation: Type.Optional(Rotation),
  },
  { additionalProperties: false },
);

export const KeyspaceUpdate = Type.Partial(KeyspaceCreate, { additionalProperties: false, minProperties: 1 });

export const Keyspace = Type.Object(
  {
    id: Id('keyspace'),
    name: Type.String(),
    prefix: Type.String(),
    defaults: Defaults,
    rotation: Rotation,
    createdAt: IsoTime(),
    updatedAt: IsoTime(),
  },
  { $id: 'Keyspace' },
);

export const KeyspaceParams = Type.Object({ id: Id('keyspace') });
