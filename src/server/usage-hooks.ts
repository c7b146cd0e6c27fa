import type { Logger } from 'pino';
import type { UsageRecorderHooks } from '../core/usage/index.js';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * What the usage recorder tells the operator. Counts and reasons only: an event's fields
 * (addresses, origins, resources) stay out of the log.
 */
export function usageLogHooks(logger: Logger | undefined): UsageRecorderHooks {
  return {
    onFlushFailed(err, { attempt, events, willRetry }) {
      const fields = { dependency: 'store', err: message(err), attempt, events };
      if (willRetry) logger?.warn(fields, 'usage: flush failed, events kept for a retry');
      else logger?.error(fields, 'usage: flush failed for good, events dropped');
    },
    onDropped(count, reason) {
      logger?.error({ count, reason }, 'usage: events dropped (see keyward_usage_events_dropped_total)');
    },
  };
}
