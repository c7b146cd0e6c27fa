import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { toIso } from '../../core/clock/index.js';
import type { UsageEventRecord } from '../../core/store/index.js';
import { MAX_BUCKETS } from '../../core/usage/index.js';
import type { VerifyCode } from '../../core/verification/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page } from '../schemas/common.js';
import { KeyParams } from '../schemas/keys.js';
import { UsageEvent, UsageEventsQuery, UsageQuery, UsageSeries } from '../schemas/usage.js';

const tags = ['usage'];
const security = [{ rootKey: [] }];

const toMs = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : Date.parse(iso);

function eventView(e: UsageEventRecord) {
  return {
    at: toIso(e.at),
    // The store keeps the code as text; only the verifier's codes are ever written.
    code: e.code as VerifyCode,
    ip: e.ip,
    origin: e.origin,
    resource: e.resource,
    latencyUs: e.latencyUs,
  };
}

export function usageRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/keys/:id/usage',
      {
        schema: {
          tags,
          security,
          summary: 'Verifications of a key over time, per outcome code',
          description: `Needs \`usage.read\`. Counts per minute, hour or UTC day of the key's verifications, from events flushed so far (about a second behind). \`from\` must be before \`to\`; a range of more than ${MAX_BUCKETS} buckets is a 400. Minute buckets older than the raw-event retention (KEYWARD_USAGE_RETENTION_DAYS) read as zero; hour and day buckets last KEYWARD_USAGE_ROLLUP_RETENTION_DAYS.`,
          params: KeyParams,
          querystring: UsageQuery,
          response: { 200: UsageSeries, ...errors() },
        },
      },
      async (req) => {
        const r = await services.usageReports.series(callContext(req), req.params.id, {
          from: toMs(req.query.from),
          to: toMs(req.query.to),
          granularity: req.query.granularity,
        });
        return {
          granularity: r.granularity,
          from: toIso(r.from),
          to: toIso(r.to),
          series: r.series.map((p) => ({ t: toIso(p.t), total: p.total, byCode: p.byCode })),
        };
      },
    );

    app.get(
      '/v1/keys/:id/events',
      {
        schema: {
          tags,
          security,
          summary: 'The latest verification events of a key, newest first',
          description:
            'Needs `usage.read`. Raw events are kept KEYWARD_USAGE_RETENTION_DAYS (30 by default) and appear once flushed (about a second).',
          params: KeyParams,
          querystring: UsageEventsQuery,
          response: { 200: Page(UsageEvent), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const after = decodeTimeCursor(req.query.cursor);
        const rows = await services.usageReports.events(callContext(req), req.params.id, {
          limit: limit + 1,
          after: after && { at: after.createdAt, id: after.id },
        });
        return pageOf(rows, limit, eventView, (e) => [e.at, e.id]);
      },
    );
  };
}
