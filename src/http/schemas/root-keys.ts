import { Type } from 'typebox';
import { Id, IsoTime, Nullable, ShortText } from './common.js';

export const RootKeyCreate = Type.Object(
  {
    name: Type.Optional(ShortText(200)),
    permissions: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), {
      minItems: 1,
      maxItems: 100,
      description: 'e.g. `keys.verify`, `keys.verify:ks_…`, `*`; only permissions the caller holds',
    }),
  },
  { additionalProperties: false },
);

const rootKeyProperties = {
  id: Id('rootKey'),
  name: Nullable(Type.String()),
  start: Type.String(),
  permissions: Type.Array(Type.String()),
  createdAt: IsoTime(),
  revokedAt: Nullable(IsoTime()),
};

export const RootKey = Type.Object(rootKeyProperties, { $id: 'RootKey' });
export const RootKeyCreated = Type.Object(
  { ...rootKeyProperties, key: Type.String({ description: 'The plaintext root key: shown this once' }) },
  { $id: 'RootKeyCreated' },
);
export const RootKeyParams = Type.Object({ id: Id('rootKey') });
