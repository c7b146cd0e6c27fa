import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyward_' });
  }
}
