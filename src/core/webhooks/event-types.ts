/**
 * The event types an endpoint can subscribe to (CONTRACT.md, "Webhooks, alerts, SIEM"). Some
 * are recorded by features still to come (`key.rotation_due`, `key.leaked`); subscribing to
 * them now is allowed, so an endpoint set up today hears them when they arrive.
 */
export const WEBHOOK_EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.revoked',
  'key.deleted',
  'key.rotated',
  'key.rotation_due',
  'key.expiring',
  'key.leaked',
  'credits.low',
  'alert.fired',
  'secret.rotation_due',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Subscribes an endpoint to every type, including types added later. */
export const ALL_EVENTS = '*';

const known = new Set<string>([...WEBHOOK_EVENT_TYPES, ALL_EVENTS]);

export function isSubscribableEvent(type: string): boolean {
  return known.has(type);
}

/** Whether an endpoint subscribed to `events` gets an event of `type`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.includes(type) || events.includes(ALL_EVENTS);
}
