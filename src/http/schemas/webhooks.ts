import { Type } from 'typebox';
import { ALL_EVENTS, MAX_URL_LENGTH, WEBHOOK_EVENT_TYPES } from '../../core/webhooks/index.js';
import { Id, IsoTime, Nullable, PageQuery } from './common.js';

const EventType = Type.Unsafe<string>({
  type: 'string',
  enum: [...WEBHOOK_EVENT_TYPES, ALL_EVENTS],
  description: 'An event type, or `*` for every type (including types added later)',
});

export const WebhookCreate = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_URL_LENGTH,
      description:
        'Any http:// or https:// URL, loopback and private addresses included, unless the server runs with KEYWARD_WEBHOOK_DENY_PRIVATE=1',
    }),
    events: Type.Array(EventType, {
      minItems: 1,
      maxItems: 50,
      description: 'What to send to this endpoint',
    }),
  },
  { additionalProperties: false },
);

const webhookProperties = {
  id: Id('webhook'),
  url: Type.String(),
  events: Type.Array(Type.String()),
  secretPath: Nullable(
    Type.String({
      description:
        'Set for the endpoint of a secret’s `rotation.webhook` (made by PUT/PATCH /v1/secrets/{path}): it receives only that secret’s `secret.rotation_due`',
    }),
  ),
  createdAt: IsoTime(),
};

export const Webhook = Type.Object(webhookProperties, { $id: 'Webhook' });
export const WebhookCreated = Type.Object(
  {
    ...webhookProperties,
    secret: Type.String({
      description:
        'The signing secret (`whsec_` + base64 of 32 bytes), shown this once: verify deliveries with it (Standard Webhooks)',
    }),
  },
  { $id: 'WebhookCreated' },
);
export const WebhookParams = Type.Object({ id: Id('webhook') });
export const DeliveryParams = Type.Object({ id: Id('webhook'), deliveryId: Id('delivery') });

const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);

export const Delivery = Type.Object(
  {
    id: Id('delivery', 'Sent as `webhook-id`; the same on every attempt'),
    webhookId: Id('webhook'),
    eventId: Id('event'),
    eventType: Type.String(),
    status: DeliveryStatus,
    attempts: Type.Integer({ description: 'Attempts made so far' }),
    lastResponseCode: Nullable(
      Type.Integer({ description: 'HTTP status of the last attempt; null when it got no answer' }),
    ),
    lastError: Nullable(
      Type.String({ description: 'Why the last attempt got no answer (`timeout`, `ECONNREFUSED`…)' }),
    ),
    nextAttemptAt: Nullable(IsoTime('When the next attempt is due; null once delivered or failed')),
    lastAttemptAt: Nullable(IsoTime()),
    deliveredAt: Nullable(IsoTime()),
    createdAt: IsoTime(),
  },
  { $id: 'WebhookDelivery' },
);

export const DeliveryQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(DeliveryStatus) },
  { additionalProperties: false },
);
