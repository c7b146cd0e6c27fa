import type { Histogram, Registry } from 'prom-client';

/** Where a histogram's numbers live: per-bucket counts kept elsewhere (by the verifier). */
export interface HistogramSource {
  /** Upper bounds, ascending, in the source's unit. */
  bounds: readonly number[];
  /** Count per bucket, not cumulative; one more slot than `bounds` (above the last bound). */
  counts: readonly number[];
  sum: number;
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram whose observations are counted elsewhere as plain integers and only
 * read at scrape time: prom-client's `Histogram.observe` hashes labels on every call, which
 * the verification hot path should not pay. The registry reads a metric through `get()`
 * and `name`/`help`/`type`/`aggregator`, which is all this provides.
 */
export class CountedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    /** Multiplies the source's unit into the exported one (µs → s: 1e-6). */
    private readonly scale: number,
    private readonly source: () => HistogramSource | null,
  ) {}

  register(registry: Registry): void {
    // prom-client's types list only its own metric classes; the registry itself needs only
    // the members this class has (see lib/registry.js getMetricsAsString).
    registry.registerMetric(this as unknown as Histogram);
  }

  /** The counts belong to the source; `registry.resetMetrics()` leaves them alone. */
  reset(): void {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const s = this.source() ?? { bounds: [], counts: [0], sum: 0 };
    const values: Sample[] = [];
    let cumulative = 0;
    s.bounds.forEach((bound, i) => {
      cumulative += s.counts[i] ?? 0;
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { le: Number((bound * this.scale).toPrecision(6)) },
        value: cumulative,
      });
    });
    cumulative += s.counts[s.bounds.length] ?? 0;
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: s.sum * this.scale });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: cumulative });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
