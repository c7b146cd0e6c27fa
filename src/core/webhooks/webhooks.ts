import type { AuditInput, AuditLog } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { invalid, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { type CallContext, callerAuditEntry, denied } from '../root-keys/index.js';
import type {
  DeliveryStatus,
  PageRequest,
  Store,
  StoreOps,
  WebhookDeliveryRecord,
  WebhookRecord,
} from '../store/index.js';
import type { WebhookSecretBox } from '../vault/index.js';
import { isSubscribableEvent } from './event-types.js';
import type { HostResolver } from './sender.js';
import { newWebhookSecret } from './signature.js';
import { checkTargetUrl } from './target-url.js';

export interface WebhookOptions {
  /** `KEYWARD_WEBHOOK_DENY_PRIVATE`: refuse loopback and private targets. */
  denyPrivate: boolean;
  /** Resolves host names at registration when `denyPrivate` is on. */
  resolveHost?: HostResolver | undefined;
}

export interface CreatedWebhook {
  record: WebhookRecord;
  /** `whsec_…`: the signing secret, for the creator's answer only. */
  secret: string;
}

const PERMISSION = 'webhooks.write';

/** `https://user:pass@host/` → `https://user:***@host/`: what an audit entry may show of a URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The audit entry of a change to an endpoint, by the caller: never its signing secret. */
export function webhookAuditEntry(
  ctx: CallContext,
  action: string,
  id: string,
  data: Record<string, unknown>,
): AuditInput {
  return callerAuditEntry(ctx, { type: 'webhook', id }, action, data);
}

/**
 * Webhook endpoints and their delivery log. Every root-key call needs `webhooks.write`; a
 * webhook of another workspace is a 404 before any permission check.
 */
export class Webhooks {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly box: WebhookSecretBox,
    private readonly opts: WebhookOptions,
  ) {}

  private async load(tx: StoreOps, ctx: CallContext, id: string): Promise<WebhookRecord> {
    const webhook = await tx.getWebhook(ctx.principal.workspaceId, id);
    if (!webhook) throw notFound('webhook', id);
    if (!ctx.principal.permissions.has(PERMISSION)) throw denied(PERMISSION);
    return webhook;
  }

  async create(ctx: CallContext, input: { url: string; events: string[] }): Promise<CreatedWebhook> {
    if (!ctx.principal.permissions.has(PERMISSION)) throw denied(PERMISSION);
    const events = [...new Set(input.events)];
    const unknown = events.find((e) => !isSubscribableEvent(e));
    if (unknown !== undefined) throw invalid('/events', `"${unknown.slice(0, 80)}" is not an event type`);
    if (events.length === 0) throw invalid('/events', 'must name at least one event type');
    await checkTargetUrl(input.url, { denyPrivate: this.opts.denyPrivate, resolve: this.opts.resolveHost });
    const id = newId('webhook', this.random);
    const secret = newWebhookSecret(this.random);
    const record: WebhookRecord = {
      id,
      workspaceId: ctx.principal.workspaceId,
      url: input.url,
      events,
      sealedSecret: this.box.seal(ctx.principal.workspaceId, id, secret),
      secretPath: null,
      createdAt: this.clock.now(),
    };
    await this.store.transaction(async (tx) => {
      await tx.insertWebhook(record);
      // The secret stays out of the audit log: it is a credential.
      await this.audit.append(
        tx,
        webhookAuditEntry(ctx, 'webhook.created', record.id, { url: redactUrl(record.url), events }),
      );
    });
    return { record, secret };
  }

  async get(ctx: CallContext, id: string): Promise<WebhookRecord> {
    return this.load(this.store, ctx, id);
  }

  async list(ctx: CallContext, page: PageRequest): Promise<WebhookRecord[]> {
    if (!ctx.principal.permissions.has(PERMISSION)) throw denied(PERMISSION);
    return this.store.listWebhooks(ctx.principal.workspaceId, page);
  }

  /** Removes the endpoint; its pending deliveries are dropped with it. */
  async delete(ctx: CallContext, id: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const webhook = await this.load(tx, ctx, id);
      await tx.deleteWebhook(ctx.principal.workspaceId, id);
      await this.audit.append(
        tx,
        webhookAuditEntry(ctx, 'webhook.deleted', id, {
          url: redactUrl(webhook.url),
          events: webhook.events,
        }),
      );
    });
  }

  async listDeliveries(
    ctx: CallContext,
    id: string,
    filter: { status?: DeliveryStatus | undefined },
    page: PageRequest,
  ): Promise<WebhookDeliveryRecord[]> {
    await this.load(this.store, ctx, id);
    return this.store.listDeliveries(ctx.principal.workspaceId, id, { status: filter.status, page });
  }

  /**
   * Sends a delivery again, as soon as a dispatcher picks it up, with the same `webhook-id`
   * (receivers that already processed it can recognise it). It is one more attempt: if it
   * fails, retries go on from where the schedule stood (none when it was spent).
   */
  async redeliver(ctx: CallContext, id: string, deliveryId: string): Promise<WebhookDeliveryRecord> {
    const now = this.clock.now();
    return this.store.transaction(async (tx) => {
      await this.load(tx, ctx, id);
      const delivery = await tx.getDelivery(ctx.principal.workspaceId, id, deliveryId);
      if (!delivery) throw notFound('delivery', deliveryId);
      await tx.scheduleRedelivery(ctx.principal.workspaceId, id, deliveryId, now);
      await this.audit.append(
        tx,
        webhookAuditEntry(ctx, 'webhook.redelivered', id, {
          deliveryId,
          eventId: delivery.eventId,
          eventType: delivery.eventType,
          previousStatus: delivery.status,
        }),
      );
      return { ...delivery, status: 'pending' as const, nextAttemptAt: now, updatedAt: now };
    });
  }
}
