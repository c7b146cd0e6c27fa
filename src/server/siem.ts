import type { Logger } from 'pino';
import { type ResolvedSink, resolveSiemSinks, SiemExporter } from '../adapters/siem/index.js';
import type { AuditLog } from '../core/audit/index.js';
import type { UsageFeed } from '../core/usage/index.js';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';

/** How long a graceful shutdown waits for SIEM buffers to drain. */
export const SIEM_FLUSH_TIMEOUT_MS = 5_000;

/**
 * Parses and checks KEYWARD_SIEM before anything is opened: a bad sink list stops the start
 * with a message naming the sink and what is wrong (SiemConfigError).
 */
export function siemSinks(config: Config): ResolvedSink[] {
  return resolveSiemSinks(config.siem, { tlsCa: config.siemTlsCa });
}

/** The exporter, its metrics wired to prom-client. With no sinks it does nothing and costs nothing. */
export function openSiem(sinks: ResolvedSink[], config: Config, metrics: Metrics, logger?: Logger): SiemExporter {
  const exporter = new SiemExporter(sinks, {
    bufferEvents: config.siemBuffer,
    stats: {
      events: (sinkType, outcome, n) => metrics.siemEvents.inc({ sink_type: sinkType, outcome }, n),
      sinkUp: (sinkType, up) => metrics.siemSinkUp.set({ sink_type: sinkType }, up ? 1 : 0),
      buffered: (sinkType, n) => metrics.siemBuffered.set({ sink_type: sinkType }, n),
    },
    ...(logger ? { logger } : {}),
  });
  if (sinks.length > 0)
    logger?.info(
      { siem: sinks.map((s) => s.url), usage: config.siemUsage },
      'siem: exporting audit entries and alerts',
    );
  return exporter;
}

/** Exports every audit entry this process commits, revocations included. */
export function exportAudit(exporter: SiemExporter, audit: AuditLog): void {
  if (exporter.sinkCount > 0) audit.onAppended((entry) => exporter.export('audit', entry));
}

/** With KEYWARD_SIEM_USAGE=1, exports every usage event once its batch is stored. */
export function exportUsage(exporter: SiemExporter, config: Config, usage: UsageFeed): void {
  if (exporter.sinkCount === 0 || !config.siemUsage) return;
  usage.onFlushed((batch) => {
    for (const event of batch) exporter.export('usage', event);
  });
}
