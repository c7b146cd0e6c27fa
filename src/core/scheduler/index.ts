export { SCHEDULER_LEASE, type ScheduledTask, Scheduler, type SchedulerOptions } from './scheduler.js';
