export type { UsageEvent, UsageFeed, UsageSink } from './usage-event.js';
