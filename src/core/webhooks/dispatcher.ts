import { type Clock, toIso } from '../clock/index.js';
import { type RandomSource, randomBase62 } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { EventRecord, Store, WebhookDeliveryRecord, WebhookRecord } from '../store/index.js';
import type { WebhookSecretBox } from '../vault/index.js';
import { subscribes } from './event-types.js';
import { nextAttemptAt } from './retry-schedule.js';
import type { WebhookSender } from './sender.js';
import { webhookHeaders } from './signature.js';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

/** One finished attempt, for metrics and logs: ids and codes only, never the URL, body or secret. */
export interface AttemptReport {
  webhookId: string;
  deliveryId: string;
  eventType: string;
  outcome: DeliveryOutcome;
  attempts: number;
  responseCode: number | null;
  error: string | null;
}

export interface DispatcherOptions {
  /** Delay before each attempt (see retry-schedule.ts). */
  schedule: readonly number[];
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** How often the loop looks for new events and due deliveries; 0: never (call `tick`). */
  pollMs: number;
  /** Attempts in flight at once on this node. */
  concurrency: number;
  /** This node's name in delivery leases; random by default. */
  nodeId?: string | undefined;
  onAttempt?: ((report: AttemptReport) => void) | undefined;
  /** A tick failed (the store is down, say); the loop goes on. */
  onError?: ((err: unknown) => void) | undefined;
}

const BATCH = 100;

/**
 * Whether an endpoint gets an event: it hears what happens from its creation on, of the types
 * it subscribed to; the endpoint of a secret's `rotation.webhook` hears only that secret's
 * `secret.rotation_due`.
 */
function hears(endpoint: WebhookRecord, event: EventRecord): boolean {
  if (endpoint.createdAt > event.createdAt || !subscribes(endpoint.events, event.type)) return false;
  return endpoint.secretPath === null || (event.data as { path?: unknown }).path === endpoint.secretPath;
}
/** A lease outlives the attempt it covers by this much, so a slow answer is still recorded. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Turns outbox events into deliveries and delivers them, on any number of nodes at once.
 *
 * - Fan-out: each event is marked dispatched by one conditional UPDATE and gets one delivery per
 *   subscribed endpoint (unique per event and endpoint), in one transaction — so exactly one
 *   node fans an event out, and a crash leaves it either untouched or fully fanned out.
 * - Delivery: a node leases a due delivery with one conditional UPDATE before sending it, so
 *   each attempt is made by one node. A node that dies mid-attempt leaves a lease that expires,
 *   and the delivery is tried again: delivery is at least once, and receivers deduplicate on
 *   `webhook-id`.
 */
export class WebhookDispatcher {
  readonly nodeId: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly store: Store,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly box: WebhookSecretBox,
    private readonly opts: DispatcherOptions,
  ) {
    this.nodeId = opts.nodeId ?? `node_${randomBase62(12, random)}`;
  }

  /** Turns undispatched outbox events into deliveries; resolves to how many deliveries it created. */
  async fanOut(): Promise<number> {
    let created = 0;
    for (;;) {
      const events = await this.store.listUndispatchedEvents(BATCH);
      if (events.length === 0) return created;
      created += await this.store.transaction(async (tx) => {
        const now = this.clock.now();
        const mine = new Set(
          await tx.markEventsDispatched(
            events.map((e) => e.id),
            now,
          ),
        );
        let n = 0;
        const endpointsOf = new Map<string, Awaited<ReturnType<typeof tx.listWorkspaceWebhooks>>>();
        for (const event of events) {
          if (!mine.has(event.id)) continue;
          let endpoints = endpointsOf.get(event.workspaceId);
          if (!endpoints) {
            endpoints = await tx.listWorkspaceWebhooks(event.workspaceId);
            endpointsOf.set(event.workspaceId, endpoints);
          }
          for (const endpoint of endpoints) {
            // An endpoint hears what happens from its creation on, not what happened before.
            if (!hears(endpoint, event)) continue;
            if (await tx.insertDelivery(this.delivery(event, endpoint.id, now))) n++;
          }
        }
        return n;
      });
      if (events.length < BATCH) return created;
    }
  }

  private delivery(event: EventRecord, webhookId: string, now: number): WebhookDeliveryRecord {
    return {
      id: newId('delivery', this.random),
      workspaceId: event.workspaceId,
      webhookId,
      eventId: event.id,
      eventType: event.type,
      payload: JSON.stringify({ type: event.type, timestamp: toIso(event.createdAt), data: event.data }),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lastAttemptAt: null,
      lastResponseCode: null,
      lastError: null,
      deliveredAt: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Attempts every due delivery this node can lease; resolves to how many it attempted. */
  async deliverDue(): Promise<number> {
    let attempted = 0;
    while (!this.stopping) {
      const due = await this.store.listDueDeliveries(this.clock.now(), BATCH);
      let next = 0;
      const worker = async () => {
        while (!this.stopping && next < due.length) {
          const delivery = due[next++];
          try {
            if (delivery && (await this.attempt(delivery))) attempted++;
          } catch (err) {
            // One delivery's trouble (a store hiccup) must not hold up the others; its lease
            // expires and it is tried again.
            this.opts.onError?.(err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, due.length) }, worker));
      if (due.length < BATCH) break;
    }
    return attempted;
  }

  /** Leases, sends and records one delivery; false when another node had it. */
  private async attempt(delivery: WebhookDeliveryRecord): Promise<boolean> {
    const claimedAt = this.clock.now();
    const leaseUntil = claimedAt + this.opts.timeoutMs + LEASE_MARGIN_MS;
    if (!(await this.store.claimDelivery(delivery.id, this.nodeId, claimedAt, leaseUntil))) return false;
    const webhook = await this.store.getWebhook(delivery.workspaceId, delivery.webhookId);
    if (!webhook) {
      // Deleted meanwhile (with its deliveries): nothing left to record.
      await this.store.releaseDelivery(delivery.id, this.nodeId);
      return false;
    }
    const timestamp = Math.floor(this.clock.now() / 1000);
    const abort = new AbortController();
    this.inFlight.add(abort);
    let response: Awaited<ReturnType<WebhookSender['send']>>;
    try {
      response = await this.sender.send({
        url: webhook.url,
        headers: webhookHeaders(
          this.box.open(webhook.workspaceId, webhook.id, webhook.sealedSecret),
          delivery.id,
          timestamp,
          delivery.payload,
        ),
        body: delivery.payload,
        timeoutMs: this.opts.timeoutMs,
        signal: abort.signal,
      });
    } catch (err) {
      response = { error: err instanceof Error ? err.name : 'send failed' };
    } finally {
      this.inFlight.delete(abort);
    }
    if (abort.signal.aborted) {
      // Shutting down: the attempt did not count; another node (or this one, restarted) retries it.
      await this.store.releaseDelivery(delivery.id, this.nodeId);
      return false;
    }
    const at = this.clock.now();
    const attempts = delivery.attempts + 1;
    const ok = response.status !== undefined && response.status >= 200 && response.status < 300;
    const retryAt = ok ? null : nextAttemptAt(this.opts.schedule, attempts, at, this.random);
    const status = ok ? 'delivered' : retryAt === null ? 'failed' : 'pending';
    const recorded = await this.store.finishDeliveryAttempt(delivery.id, this.nodeId, {
      status,
      at,
      responseCode: response.status ?? null,
      error: response.error ?? null,
      nextAttemptAt: retryAt,
    });
    if (recorded)
      this.opts.onAttempt?.({
        webhookId: delivery.webhookId,
        deliveryId: delivery.id,
        eventType: delivery.eventType,
        outcome: ok ? 'delivered' : retryAt === null ? 'failed' : 'retried',
        attempts,
        responseCode: response.status ?? null,
        error: response.error ?? null,
      });
    return true;
  }

  /** One round: fan out new events, then attempt what is due. */
  async tick(): Promise<void> {
    await this.fanOut();
    await this.deliverDue();
  }

  /** Starts the polling loop (the server does; tests call `tick`). */
  start(): void {
    if (this.opts.pollMs <= 0 || this.timer || this.running) return;
    this.stopping = false;
    const loop = () => {
      this.timer = undefined;
      this.running = this.tick()
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => {
          this.running = undefined;
          if (!this.stopping) {
            this.timer = setTimeout(loop, this.opts.pollMs);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(loop, 0);
    this.timer.unref();
  }

  /** Stops the loop, aborts attempts in flight (they are retried later) and waits for the round to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const abort of this.inFlight) abort.abort();
    await this.running;
  }
}
