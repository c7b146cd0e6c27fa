export {
  type AttemptReport,
  type DeliveryOutcome,
  type DispatcherOptions,
  WebhookDispatcher,
} from './dispatcher.js';
export {
  ALL_EVENTS,
  isSubscribableEvent,
  subscribes,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from './event-types.js';
export { purgeWebhookHistory } from './retention.js';
export { DEFAULT_RETRY_SCHEDULE_MS, nextAttemptAt, parseRetrySchedule } from './retry-schedule.js';
export {
  type HostResolver,
  RecordingSender,
  type WebhookRequest,
  type WebhookResponse,
  type WebhookSender,
} from './sender.js';
export { newWebhookSecret, SECRET_PREFIX, signWebhook, webhookHeaders } from './signature.js';
export { checkTargetUrl, isPrivateAddress, MAX_URL_LENGTH } from './target-url.js';
export {
  type CreatedWebhook,
  redactUrl,
  type WebhookOptions,
  Webhooks,
  webhookAuditEntry,
} from './webhooks.js';
