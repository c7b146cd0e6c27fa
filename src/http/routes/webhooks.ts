import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso, toIsoOrNull } from '../../core/clock/index.js';
import type { WebhookDeliveryRecord, WebhookRecord } from '../../core/store/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import { errors, Page, PageQuery } from '../schemas/common.js';
import {
  Delivery,
  DeliveryParams,
  DeliveryQuery,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookParams,
} from '../schemas/webhooks.js';

/** An endpoint as the API shows it: never its secret (that is in the creation answer only). */
export function webhookView(w: WebhookRecord) {
  return { id: w.id, url: w.url, events: w.events, secretPath: w.secretPath, createdAt: toIso(w.createdAt) };
}

export function deliveryView(d: WebhookDeliveryRecord) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastResponseCode: d.lastResponseCode,
    lastError: d.lastError,
    nextAttemptAt: toIsoOrNull(d.nextAttemptAt),
    lastAttemptAt: toIsoOrNull(d.lastAttemptAt),
    deliveredAt: toIsoOrNull(d.deliveredAt),
    createdAt: toIso(d.createdAt),
  };
}

const tags = ['webhooks'];
const security = [{ rootKey: [] }];

export function webhookRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/webhooks',
      {
        schema: {
          tags,
          security,
          summary: 'Register a webhook endpoint',
          description:
            'Needs `webhooks.write`. Deliveries are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `secret` returned this once. Only events recorded after the endpoint exists are sent to it.',
          body: WebhookCreate,
          response: { 201: WebhookCreated, ...errors() },
        },
      },
      async (req, reply) => {
        const created = await services.webhooks.create(callContext(req), req.body);
        return reply.code(201).send({ ...webhookView(created.record), secret: created.secret });
      },
    );

    app.get(
      '/v1/webhooks',
      {
        schema: {
          tags,
          security,
          summary: 'List webhook endpoints, newest first',
          description: 'Needs `webhooks.write`. Secrets are not listed.',
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(Webhook), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.webhooks.list(callContext(req), {
          limit: limit + 1,
          after: decodeTimeCursor(req.query.cursor),
        });
        return pageOf(rows, limit, webhookView, (r) => [r.createdAt, r.id]);
      },
    );

    app.get(
      '/v1/webhooks/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Get a webhook endpoint',
          description: 'Needs `webhooks.write`. The secret is not shown.',
          params: WebhookParams,
          response: { 200: Webhook, ...errors() },
        },
      },
      async (req) => webhookView(await services.webhooks.get(callContext(req), req.params.id)),
    );

    app.delete(
      '/v1/webhooks/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Delete a webhook endpoint',
          description:
            'Needs `webhooks.write`. Its pending deliveries are dropped; nothing more is sent to it.',
          params: WebhookParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors() },
        },
      },
      async (req, reply) => {
        await services.webhooks.delete(callContext(req), req.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/webhooks/:id/deliveries',
      {
        schema: {
          tags,
          security,
          summary: "List an endpoint's deliveries, newest first",
          description:
            'Needs `webhooks.write`. One delivery per event sent to the endpoint, with its status (`pending`, `delivered`, `failed`), attempts, last response code and next attempt.',
          params: WebhookParams,
          querystring: DeliveryQuery,
          response: { 200: Page(Delivery), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.webhooks.listDeliveries(
          callContext(req),
          req.params.id,
          { status: req.query.status },
          { limit: limit + 1, after: decodeTimeCursor(req.query.cursor) },
        );
        return pageOf(rows, limit, deliveryView, (r) => [r.createdAt, r.id]);
      },
    );

    app.post(
      '/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
      {
        schema: {
          tags,
          security,
          summary: 'Send a delivery again',
          description:
            'Needs `webhooks.write`. Queues one more attempt now, with the same `webhook-id` (receivers deduplicate on it), whatever the status; a failure is retried on the schedule where it stood. Answers 202 with the delivery, now `pending`.',
          params: DeliveryParams,
          response: { 202: Delivery, ...errors() },
        },
      },
      async (req, reply) => {
        const d = await services.webhooks.redeliver(callContext(req), req.params.id, req.params.deliveryId);
        return reply.code(202).send(deliveryView(d));
      },
    );
  };
}
