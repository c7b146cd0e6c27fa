import type { Clock } from '../clock/index.js';
import { invalid, notFound } from '../errors/index.js';
import { type CallContext, denied } from '../root-keys/index.js';
import type { Store, UsageEventPage, UsageEventRecord, UsageGranularity } from '../store/index.js';

export const GRANULARITY_MS: Readonly<Record<UsageGranularity, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** The range a series covers when the caller gives no `from`: enough buckets to be useful. */
const DEFAULT_SPAN_MS: Readonly<Record<UsageGranularity, number>> = {
  minute: 3_600_000,
  hour: 86_400_000,
  day: 30 * 86_400_000,
};

/** The most buckets one series may have: a day of minutes, two months of hours, four years of days. */
export const MAX_BUCKETS = 1500;

export interface SeriesQuery {
  /** Epoch ms; default `to` minus one hour (minute), one day (hour) or 30 days (day). */
  from?: number | undefined;
  /** Epoch ms, exclusive; default the end of the current bucket, so the series ends with it. */
  to?: number | undefined;
  granularity?: UsageGranularity | undefined;
}

export interface SeriesPoint {
  /** Start of the bucket. */
  t: number;
  total: number;
  /** Only the codes that occurred in the bucket. */
  byCode: Record<string, number>;
}

export interface Series {
  granularity: UsageGranularity;
  /** The range after alignment to whole buckets. */
  from: number;
  to: number;
  /** Every bucket of the range, empty ones included, oldest first. */
  series: SeriesPoint[];
}

/** What `GET /v1/keys/{id}/usage` and `/events` answer: one key's usage, from the store. */
export class UsageReports {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Lookup inside the caller's workspace first (404), then the permission (403). */
  private async requireKey(ctx: CallContext, keyId: string): Promise<void> {
    const key = await this.store.getKey(ctx.principal.workspaceId, keyId);
    if (!key) throw notFound('key', keyId);
    if (!ctx.principal.permissions.has('usage.read')) throw denied('usage.read');
  }

  /**
   * Counts per bucket and code. Buckets are aligned to UTC minutes, hours or days: `from` is
   * rounded down and `to` up to a bucket boundary. Counts cover flushed events (at most about
   * a second behind); minute buckets older than the raw-event retention read as zero.
   */
  async series(ctx: CallContext, keyId: string, q: SeriesQuery): Promise<Series> {
    const granularity = q.granularity ?? 'hour';
    const step = GRANULARITY_MS[granularity];
    const to = q.to ?? (Math.floor(this.clock.now() / step) + 1) * step;
    const from = q.from ?? to - DEFAULT_SPAN_MS[granularity];
    if (from >= to) throw invalid('querystring:/from', 'must be before `to`');
    const start = Math.floor(from / step) * step;
    const end = Math.ceil(to / step) * step;
    const buckets = (end - start) / step;
    if (buckets > MAX_BUCKETS)
      throw invalid(
        'querystring:/from',
        `the range holds ${buckets} ${granularity} buckets, more than ${MAX_BUCKETS}: shorten it or use a coarser granularity`,
      );
    await this.requireKey(ctx, keyId);

    const rows = await this.store.usageSeries(ctx.principal.workspaceId, keyId, {
      granularity,
      from: start,
      to: end,
    });
    const series: SeriesPoint[] = [];
    const byStart = new Map<number, SeriesPoint>();
    for (let t = start; t < end; t += step) {
      const point = { t, total: 0, byCode: {} };
      series.push(point);
      byStart.set(t, point);
    }
    for (const r of rows) {
      const point = byStart.get(r.t);
      if (!point) continue;
      point.total += r.count;
      point.byCode[r.code] = (point.byCode[r.code] ?? 0) + r.count;
    }
    return { granularity, from: start, to: end, series };
  }

  /** One key's latest events, newest first. */
  async events(ctx: CallContext, keyId: string, page: UsageEventPage): Promise<UsageEventRecord[]> {
    await this.requireKey(ctx, keyId);
    return this.store.listUsageEvents(ctx.principal.workspaceId, keyId, page);
  }
}
