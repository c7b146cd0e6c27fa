import type { Logger } from 'pino';
import { type ResolvedSink, resolveSiemSinks, SiemExporter } from '../adapters/siem/index.js';
import type { AuditLog } from '../core/audit/index.js';
import type { AuditRecord, Store } from '../core/store/index.js';
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
export function openSiem(
  sinks: ResolvedSink[],
  config: Config,
  metrics: Metrics,
  logger?: Logger,
): SiemExporter {
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

/**
 * Exports every audit entry this process commits, single revocations included. A bulk
 * revocation has one audit entry (`incident.created`) for all its keys, so each of its keys is
 * exported too, as a `revocation`, read from the committed incident.
 */
export function exportAudit(exporter: SiemExporter, audit: AuditLog, store: Store, logger?: Logger): void {
  if (exporter.sinkCount === 0) return;
  audit.onAppended((entry) => {
    exporter.export('audit', entry);
    if (entry.action === 'incident.created') void exportIncidentKeys(exporter, store, entry, logger);
  });
}

async function exportIncidentKeys(
  exporter: SiemExporter,
  store: Store,
  entry: AuditRecord,
  logger?: Logger,
): Promise<void> {
  try {
    const incident = await store.getIncident(entry.workspaceId, entry.targetId);
    for (const keyId of incident?.keyIds ?? [])
      exporter.export('revocation', {
        workspaceId: entry.workspaceId,
        keyId,
        incidentId: entry.targetId,
        actor: entry.actor,
        reason: incident?.reason,
        at: entry.at,
      });
  } catch (err) {
    logger?.warn(
      {
        siem: 'revocation',
        incidentId: entry.targetId,
        err: err instanceof Error ? err.message : String(err),
      },
      'siem: keys of a bulk revocation not exported (the incident entry was)',
    );
  }
}

/** With KEYWARD_SIEM_USAGE=1, exports every usage event once its batch is stored. */
export function exportUsage(exporter: SiemExporter, config: Config, usage: UsageFeed): void {
  if (exporter.sinkCount === 0 || !config.siemUsage) return;
  usage.onFlushed((batch) => {
    for (const event of batch.events()) exporter.export('usage', event);
  });
}
