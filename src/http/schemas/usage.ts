import { Type } from 'typebox';
import { MAX_BUCKETS } from '../../core/usage/index.js';
import { VERIFY_CODES } from '../../core/verification/index.js';
import { IsoTime, Nullable, PageQuery } from './common.js';
import { VerifyCode } from './keys.js';

const granularity = (extra: { default?: string } = {}) =>
  Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], {
    description: 'Bucket size; buckets are aligned to UTC minutes, hours or days',
    ...extra,
  });

export const UsageQuery = Type.Object(
  {
    from: Type.Optional(
      IsoTime(
        'Start of the range, rounded down to a bucket boundary. Default: `to` minus 1 hour (minute), 24 hours (hour) or 30 days (day)',
      ),
    ),
    to: Type.Optional(
      IsoTime(
        'End of the range (exclusive), rounded up to a bucket boundary. Default: the end of the current bucket, so the series ends with the bucket holding now',
      ),
    ),
    granularity: Type.Optional(granularity({ default: 'hour' })),
  },
  { additionalProperties: false },
);

const ByCode = Type.Object(
  Object.fromEntries(VERIFY_CODES.map((code) => [code, Type.Optional(Type.Integer({ minimum: 1 }))])),
  {
    additionalProperties: false,
    description: 'Verifications per outcome code; codes that did not occur are absent',
  },
);

export const UsagePoint = Type.Object({
  t: IsoTime('Start of the bucket'),
  total: Type.Integer({ minimum: 0 }),
  byCode: ByCode,
});

export const UsageSeries = Type.Object({
  granularity: granularity(),
  from: IsoTime('Start of the first bucket'),
  to: IsoTime('End of the last bucket'),
  series: Type.Array(UsagePoint, {
    description: `Every bucket of the range, empty ones included, oldest first (at most ${MAX_BUCKETS})`,
  }),
});

export const UsageEvent = Type.Object(
  {
    at: IsoTime(),
    code: VerifyCode,
    ip: Nullable(Type.String({ description: 'The `ip` given to the verification' })),
    origin: Nullable(Type.String({ description: 'The `origin` given to the verification' })),
    resource: Nullable(Type.String({ description: 'The `resource` given to the verification' })),
    latencyUs: Type.Integer({ description: 'Time the server spent deciding, in microseconds' }),
  },
  { $id: 'UsageEvent' },
);

export const UsageEventsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
