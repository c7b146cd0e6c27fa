import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { LATENCY_BOUNDS_US, VERIFY_CODES, type VerificationStats } from '../core/verification/index.js';
import { CountedHistogram } from './counted-histogram.js';

/**
 * The process's Prometheus metrics. Labels are bounded sets (dependency names, states, codes):
 * never key material, ids, or anything a caller controls.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly dependencyUp = new Gauge({
    name: 'keyward_dependency_up',
    help: 'Whether a dependency is reachable (1) or not (0)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly dependencyStateChanges = new Counter({
    name: 'keyward_dependency_state_changes_total',
    help: 'Transitions of a dependency between up and down',
    labelNames: ['dependency', 'state'] as const,
    registers: [this.registry],
  });

  readonly invalidationPublishFailures = new Counter({
    name: 'keyward_cache_invalidation_publish_failures_total',
    help: 'Invalidations applied locally that could not be sent to other nodes',
    registers: [this.registry],
  });

  readonly rateLimitFallback = new Gauge({
    name: 'keyward_ratelimit_fallback',
    help: '1 while Redis is unreachable and rate limits run on a per-node share of each limit',
    registers: [this.registry],
  });

  readonly cacheBypassed = new Gauge({
    name: 'keyward_verification_cache_bypassed',
    help: '1 while the cache bus is down and verification reads the store every time',
    registers: [this.registry],
  });

  readonly siemEvents = new Counter({
    name: 'keyward_siem_events_total',
    help: 'Events handed to SIEM sinks by outcome: sent, dropped_overflow (buffer full), dropped_shutdown, dropped_rejected (too large or unserializable)',
    labelNames: ['sink_type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly siemSinkUp = new Gauge({
    name: 'keyward_siem_sink_up',
    help: '1 while every SIEM sink of this type is connected (a file: writable), 0 otherwise',
    labelNames: ['sink_type'] as const,
    registers: [this.registry],
  });

  readonly siemBuffered = new Gauge({
    name: 'keyward_siem_buffered_events',
    help: 'Events waiting in the SIEM buffers of this sink type',
    labelNames: ['sink_type'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'keyward_webhook_deliveries_total',
    help: 'Webhook delivery attempts made by this node, by outcome: delivered (2xx), retried (failed, another attempt is scheduled), failed (failed, schedule spent)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly alertsFired = new Counter({
    name: 'keyward_alerts_fired_total',
    help: 'Alerts fired by this node, by condition type (threshold, spike, new_ip, failure_burst)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly alertEvaluationFailures = new Counter({
    name: 'keyward_alert_evaluation_failures_total',
    help: 'Usage batches whose alert evaluation failed, or was skipped because evaluation fell behind; their traffic is missing from alert windows',
    registers: [this.registry],
  });

  // Verification and usage metrics: the numbers are plain integers kept by the verifier and the
  // usage recorder; these metrics read them when scraped (`collect`), so the hot path never
  // calls prom-client. Labels: a verification code, hit/miss — bounded sets.
  private verificationStats: VerificationStats | null = null;
  private usageStats: UsageStatsSource | null = null;

  readonly verifications = new Counter({
    name: 'keyward_verifications_total',
    help: 'Verifications answered, by outcome code',
    labelNames: ['code'] as const,
    registers: [this.registry],
    collect: () => {
      const stats = this.verificationStats;
      if (!stats) return;
      this.verifications.reset();
      for (const code of VERIFY_CODES) this.verifications.inc({ code }, stats.byCode[code]);
    },
  });

  readonly verificationCache = new Counter({
    name: 'keyward_verification_cache_total',
    help: 'Verifications answered from the in-process cache (hit) or after a store read (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
    collect: () => {
      const stats = this.verificationStats;
      if (!stats) return;
      this.verificationCache.reset();
      this.verificationCache.inc({ result: 'hit' }, stats.cacheHits);
      this.verificationCache.inc({ result: 'miss' }, stats.cacheMisses);
    },
  });

  readonly verificationDuration = new CountedHistogram(
    'keyward_verification_duration_seconds',
    'Time spent deciding a verification, in seconds (HTTP handling excluded)',
    1e-6,
    () => {
      const stats = this.verificationStats;
      return stats && { bounds: LATENCY_BOUNDS_US, counts: stats.latencyCounts, sum: stats.latencySumUs };
    },
  );

  readonly usageQueueDepth = new Gauge({
    name: 'keyward_usage_queue_depth',
    help: 'Usage events held in memory, waiting to be written (or retried)',
    registers: [this.registry],
    collect: () => {
      if (this.usageStats) this.usageQueueDepth.set(this.usageStats.depth);
    },
  });

  readonly usageEventsDropped = new Counter({
    name: 'keyward_usage_events_dropped_total',
    help: 'Usage events not stored: queue full, write refused for good, or store down at shutdown (goal: 0)',
    registers: [this.registry],
    collect: () => {
      if (!this.usageStats) return;
      this.usageEventsDropped.reset();
      this.usageEventsDropped.inc(this.usageStats.dropped);
    },
  });

  readonly usageEventsStored = new Counter({
    name: 'keyward_usage_events_stored_total',
    help: 'Usage events committed to the store',
    registers: [this.registry],
    collect: () => {
      if (!this.usageStats) return;
      this.usageEventsStored.reset();
      this.usageEventsStored.inc(this.usageStats.stored);
    },
  });

  readonly usageFlushFailures = new Counter({
    name: 'keyward_usage_flush_failures_total',
    help: 'Usage flush transactions that failed (their events are kept and retried)',
    registers: [this.registry],
    collect: () => {
      if (!this.usageStats) return;
      this.usageFlushFailures.reset();
      this.usageFlushFailures.inc(this.usageStats.flushFailures);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyward_' });
    this.verificationDuration.register(this.registry);
  }

  /** Exports the verifier's counters from now on. */
  observeVerifications(stats: VerificationStats): void {
    this.verificationStats = stats;
  }

  /** Exports the usage recorder's counters from now on. */
  observeUsage(source: UsageStatsSource): void {
    this.usageStats = source;
  }
}

/** What the usage recorder counts (see core/usage/usage-recorder.ts). */
export interface UsageStatsSource {
  readonly depth: number;
  readonly dropped: number;
  readonly stored: number;
  readonly flushFailures: number;
}
