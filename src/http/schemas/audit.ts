import { Type } from 'typebox';
import { IsoTime, Nullable, PageQuery } from './common.js';

export const AuditEntry = Type.Object(
  {
    seq: Type.Integer({ description: 'Position in the workspace’s chain, from 1' }),
    at: IsoTime(),
    actor: Type.String({ description: 'The root key id, `system`, or `cli`' }),
    action: Type.String({ description: '`<resource>.<past verb>`, e.g. `key.revoked`' }),
    targetType: Type.String(),
    targetId: Type.String(),
    ip: Nullable(Type.String()),
    data: Type.Record(Type.String(), Type.Unknown()),
    hash: Type.String({ description: 'sha256(prevHash + canonical JSON of the entry)' }),
    prevHash: Type.String(),
  },
  { $id: 'AuditEntry' },
);

export const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 100 })),
    targetId: Type.Optional(Type.String({ maxLength: 100 })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const AuditVerification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'Entries checked' }),
  firstBadSeq: Nullable(
    Type.Integer({ description: 'The first entry that was edited, deleted or relinked' }),
  ),
});
