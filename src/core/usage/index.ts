export { ManualTimers, realTimers, type Timers } from './timers.js';
export {
  StoreUsageWriter,
  type UsageBatch,
  type UsageBatchWriter,
  usageEventId,
  usageEventRecords,
} from './usage-batch.js';
export {
  lastUses,
  NUMS_PER_EVENT,
  REFS_PER_EVENT,
  UsageColumns,
  usageCounts,
} from './usage-columns.js';
export type { UsageEvent, UsageFeed, UsageSink } from './usage-event.js';
export {
  DEFAULT_USAGE_RECORDER_OPTIONS,
  type DropReason,
  UsageRecorder,
  type UsageRecorderHooks,
  type UsageRecorderOptions,
} from './usage-recorder.js';
export {
  GRANULARITY_MS,
  MAX_BUCKETS,
  type Series,
  type SeriesPoint,
  type SeriesQuery,
  UsageReports,
} from './usage-reports.js';
export {
  DEFAULT_USAGE_RETENTION,
  type PurgeResult,
  UsageRetention,
  type UsageRetentionOptions,
} from './usage-retention.js';
