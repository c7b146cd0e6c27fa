import { Type } from 'typebox';
import {
  DEFAULT_COOLDOWN_SECONDS,
  DEFAULT_SPIKE_MIN_COUNT,
  DEFAULT_SPIKE_MIN_HISTORY_WINDOWS,
  MAX_COOLDOWN_SECONDS,
  MAX_WINDOW_SECONDS,
} from '../../core/alerts/index.js';
import { Id, IsoTime, Nullable, PageQuery, ShortText } from './common.js';

const FailureCode = Type.Union([
  Type.Literal('NOT_FOUND'),
  Type.Literal('DISABLED'),
  Type.Literal('REVOKED'),
  Type.Literal('EXPIRED'),
  Type.Literal('FORBIDDEN'),
  Type.Literal('INSUFFICIENT_SCOPES'),
  Type.Literal('RATE_LIMITED'),
  Type.Literal('USAGE_EXCEEDED'),
]);

const FailureCodes = Type.Array(FailureCode, {
  minItems: 1,
  maxItems: 8,
  uniqueItems: true,
  description: 'Only these verification codes count as failures (default: every code but VALID)',
});

const WindowSeconds = Type.Integer({
  minimum: 1,
  maximum: MAX_WINDOW_SECONDS,
  description: 'Window length in seconds (at most 7 days); see docs/monitoring.md for how windows slide',
});

const Count = (description: string) => Type.Integer({ minimum: 1, maximum: 1e9, description });

const Threshold = Type.Object(
  {
    type: Type.Literal('threshold'),
    metric: Type.Union([Type.Literal('verifications'), Type.Literal('failures')], {
      description: '`failures`: every verification whose code is not VALID (narrow with `codes`)',
    }),
    count: Count('Fires when a key reaches this many within the window'),
    windowSeconds: WindowSeconds,
    codes: Type.Optional(FailureCodes),
  },
  {
    additionalProperties: false,
    title: 'threshold',
    description: 'Verifications (or failures) of one key per window',
  },
);

const Spike = Type.Object(
  {
    type: Type.Literal('spike'),
    factor: Type.Number({
      exclusiveMinimum: 1,
      maximum: 1000,
      description: 'Fires when a window reaches this many times the key’s moving baseline',
    }),
    windowSeconds: WindowSeconds,
    minCount: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e9,
        description: `Verifications the window needs before it can be a spike (default ${DEFAULT_SPIKE_MIN_COUNT})`,
      }),
    ),
    minHistoryWindows: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: `Completed windows of baseline a key needs first (default ${DEFAULT_SPIKE_MIN_HISTORY_WINDOWS}), so new keys never fire`,
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'spike',
    description: 'A key’s rate against its own moving baseline',
  },
);

const NewIp = Type.Object(
  { type: Type.Literal('new_ip') },
  {
    additionalProperties: false,
    title: 'new_ip',
    description: 'First use of a key from a /24 (IPv4) or /48 (IPv6) never seen for it; not on its first use',
  },
);

const FailureBurst = Type.Object(
  {
    type: Type.Literal('failure_burst'),
    count: Count('Fires when one IP reaches this many failed verifications within the window'),
    windowSeconds: WindowSeconds,
    codes: Type.Optional(FailureCodes),
  },
  {
    additionalProperties: false,
    title: 'failure_burst',
    description:
      'Failed verifications (NOT_FOUND included) from one IP across all the workspace’s keys: enumeration. Workspace-wide, notify only',
  },
);

export const AlertCondition = Type.Union([Threshold, Spike, NewIp, FailureBurst]);

const Action = Type.Union([Type.Literal('notify'), Type.Literal('disable'), Type.Literal('rotate')]);

const Actions = Type.Array(Action, {
  maxItems: 3,
  uniqueItems: true,
  description:
    '`notify`: an `alert.fired` event (webhooks); `disable`: disable the key (needs `keys.update` too); `rotate`: rotate it with the keyspace’s grace period (needs `keys.rotate` too)',
});

const CooldownSeconds = Type.Integer({
  minimum: 0,
  maximum: MAX_COOLDOWN_SECONDS,
  description: `After firing, the rule stays quiet for the same key (or IP) this long; default ${DEFAULT_COOLDOWN_SECONDS}, never less than the window`,
});

export const AlertRuleCreate = Type.Object(
  {
    name: ShortText(200),
    keyspaceId: Type.Optional(Id('keyspace', 'Scope the rule to one keyspace')),
    keyId: Type.Optional(Id('key', 'Scope the rule to one key')),
    condition: AlertCondition,
    actions: Actions,
    cooldownSeconds: Type.Optional(CooldownSeconds),
    enabled: Type.Optional(Type.Boolean({ description: 'Default true' })),
  },
  { additionalProperties: false },
);

export const AlertRuleUpdate = Type.Object(
  {
    name: Type.Optional(ShortText(200)),
    enabled: Type.Optional(Type.Boolean()),
    cooldownSeconds: Type.Optional(CooldownSeconds),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AlertRule = Type.Object(
  {
    id: Id('alertRule'),
    name: Type.String(),
    keyspaceId: Nullable(Type.String({ description: 'null: the whole workspace' })),
    keyId: Nullable(Type.String()),
    condition: AlertCondition,
    actions: Type.Array(Action),
    cooldownSeconds: Type.Integer(),
    enabled: Type.Boolean(),
    createdAt: IsoTime(),
    updatedAt: IsoTime(),
  },
  { $id: 'AlertRule' },
);

export const Alert = Type.Object(
  {
    id: Id('alert'),
    ruleId: Type.String(),
    keyId: Nullable(Type.String({ description: 'null for a failure burst, which spans keys' })),
    at: IsoTime(),
    detail: Type.Record(Type.String(), Type.Unknown(), {
      description: 'What was observed (`type`, counts, baseline, `ip`, `network`…) and what each action did',
    }),
  },
  { $id: 'Alert' },
);

export const AlertRuleParams = Type.Object({ id: Id('alertRule') });

export const AlertsQuery = Type.Object(
  {
    ruleId: Type.Optional(Id('alertRule')),
    keyId: Type.Optional(Id('key')),
    ...PageQuery,
  },
  { additionalProperties: false },
);
