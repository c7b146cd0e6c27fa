import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RedisCacheBus, RedisRateLimiter } from '../adapters/redis/index.js';
import {
  openPostgresStore,
  openSqliteStore,
  openSqliteUsageWriter,
  type SqlStore,
} from '../adapters/sql/index.js';
import { HttpWebhookSender, resolveHost } from '../adapters/webhooks/index.js';
import { AlertEvaluator, AlertRules } from '../core/alerts/index.js';
import { AuditLog } from '../core/audit/index.js';
import { type CacheBus, InProcessCacheBus } from '../core/cache-bus/index.js';
import { type Clock, systemClock } from '../core/clock/index.js';
import { type RandomSource, secureRandom } from '../core/crypto/index.js';
import { Keys, recordExpiringKeys } from '../core/keys/index.js';
import { Keyspaces } from '../core/keyspaces/index.js';
import { MemoryRateLimiter, type RateLimiter, StandaloneLimits } from '../core/ratelimit/index.js';
import { Revocations } from '../core/revocation/index.js';
import { RootKeys } from '../core/root-keys/index.js';
import { ScheduledRotation } from '../core/rotation/index.js';
import { Scheduler } from '../core/scheduler/index.js';
import type { SiemExport } from '../core/siem/index.js';
import type { Store } from '../core/store/index.js';
import {
  StoreUsageWriter,
  type UsageBatchWriter,
  UsageRecorder,
  UsageReports,
  UsageRetention,
} from '../core/usage/index.js';
import {
  recordDueRotations,
  sealPlaintextWebhookSecrets,
  Vault,
  WebhookSecretBox,
} from '../core/vault/index.js';
import { Verifier } from '../core/verification/index.js';
import {
  type HostResolver,
  parseRetrySchedule,
  purgeWebhookHistory,
  WebhookDispatcher,
  type WebhookSender,
  Webhooks,
} from '../core/webhooks/index.js';
import { Workspaces } from '../core/workspaces/index.js';
import type { Config } from './config.js';
import { Dependencies } from './dependencies.js';
import { openMasterKey, requireMasterKeySetting } from './master-key.js';
import { Metrics } from './metrics.js';
import { redactUrl } from './redact.js';
import { exportAudit, exportUsage, openSiem, SIEM_FLUSH_TIMEOUT_MS, siemSinks } from './siem.js';
import { usageLogHooks } from './usage-hooks.js';

/** Everything the HTTP layer and the CLI call into, built once from config. */
export interface Services {
  config: Config;
  clock: Clock;
  store: Store;
  bus: CacheBus;
  /** Rate limits of keys and of `POST /v1/ratelimit`: Redis when configured, else in-process. */
  limiter: RateLimiter;
  /** Keyward's own protection, per root key and per node. */
  apiLimiter: MemoryRateLimiter;
  standaloneLimits: StandaloneLimits;
  revocations: Revocations;
  /** Timed work on exactly one node (leader election through the store); started by the server. */
  scheduler: Scheduler;
  metrics: Metrics;
  dependencies: Dependencies;
  audit: AuditLog;
  rootKeys: RootKeys;
  workspaces: Workspaces;
  keyspaces: Keyspaces;
  keys: Keys;
  verifier: Verifier;
  /**
   * Usage events of every verification, batched into the store; also the feed of stored
   * batches (`usage.onFlushed`) for alerts and SIEM export. docs/monitoring.md.
   */
  usage: UsageRecorder;
  /** What `GET /v1/keys/{id}/usage` and `/events` answer. */
  usageReports: UsageReports;
  /** Deletes usage past its retention; the scheduler's leader runs it hourly. */
  usageRetention: UsageRetention;
  /** Deletes webhook history past KEYWARD_WEBHOOK_RETENTION_DAYS (the scheduler does, hourly). */
  purgeWebhookHistory: () => Promise<number>;
  /** Alert rules and fired alerts (docs/monitoring.md, "Alerts"). */
  alertRules: AlertRules;
  /** Evaluates alert rules on every usage batch flushed by this node (`usage.onFlushed`). */
  alertEvaluator: AlertEvaluator;
  /** Secrets held for third-party APIs (docs/vault.md). */
  vault: Vault;
  /** SIEM export (KEYWARD_SIEM): hand alerts here with `siem.export('alert', alert)`; never blocks. */
  siem: SiemExport;
  /** Records `secret.rotation_due` for secrets past their rotation age; the server runs it on a timer. */
  checkSecretRotation(): Promise<number>;
  /** Webhook endpoints and their delivery log (docs/monitoring.md). */
  webhooks: Webhooks;
  /** Turns outbox events into webhook deliveries and sends them; `startWebhooks` runs it on a timer. */
  webhookDispatcher: WebhookDispatcher;
  /** Records `key.expiring` 7 days and 1 day before keys expire; `startWebhooks` runs it on a timer. */
  checkExpiringKeys(): Promise<number>;
  /** Starts webhook delivery and the `key.expiring` check (the server does; tests drive them by hand). */
  startWebhooks(): void;
  /** Checks the store with one round trip; false when it cannot be reached. */
  pingStore(): Promise<boolean>;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  store?: Store;
  clock?: Clock;
  random?: RandomSource;
  bus?: CacheBus;
  limiter?: RateLimiter;
  logger?: Logger;
  /** Sends webhook deliveries; the HTTP sender by default. */
  webhookSender?: WebhookSender;
  /** Resolves webhook hosts at registration (with KEYWARD_WEBHOOK_DENY_PRIVATE); DNS by default. */
  resolveHost?: HostResolver;
}

const STORE_PING_INTERVAL_MS = 1_000;

/** The SQLite database of a configuration without KEYWARD_DATABASE_URL. */
export const sqliteFile = (config: Config) => join(config.dataDir, 'keyward.db');

/** PostgreSQL when `databaseUrl` is set, SQLite in the data directory otherwise. */
export async function openStore(config: Config, logger?: Logger): Promise<SqlStore> {
  if (config.databaseUrl === undefined) return openSqliteStore(sqliteFile(config));
  try {
    return await openPostgresStore(config.databaseUrl, {
      poolSize: config.databasePoolSize,
      onPoolError: (err) =>
        logger?.warn({ dependency: 'store', err: err.message }, 'postgres: idle connection lost'),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`postgres (${redactUrl(config.databaseUrl)}): ${reason}`, { cause: err });
  }
}

/**
 * On the SQLite store this function opened, usage batches are written by a thread of their own
 * (docs/architecture.md, "Usage writes"); any other store writes them in its transactions.
 */
function openUsageWriter(config: Config, store: Store, opened: boolean, logger?: Logger): UsageBatchWriter {
  if (!opened || config.databaseUrl !== undefined) return new StoreUsageWriter(store);
  return openSqliteUsageWriter(sqliteFile(config), store, {
    onExit: (err) =>
      logger?.error(
        { err: err.message, cause: err.cause instanceof Error ? err.cause.message : undefined },
        'usage: writer thread crashed; its batch is retried on a new thread',
      ),
  });
}

function openBus(config: Config, metrics: Metrics, logger?: Logger): CacheBus {
  if (config.redisUrl === undefined) return new InProcessCacheBus();
  const where = redactUrl(config.redisUrl);
  let lastError = '';
  return new RedisCacheBus(config.redisUrl, {
    onError: (err) => {
      // ioredis retries without end; log each distinct failure once, not once per retry.
      if (err.message === lastError) return;
      lastError = err.message;
      logger?.warn({ dependency: 'redis', url: where, err: err.message }, 'redis: connection error');
    },
    onPublishError: (err) => {
      metrics.invalidationPublishFailures.inc();
      logger?.error({ dependency: 'redis', err: err.message }, 'redis: invalidation not sent to other nodes');
    },
  });
}

function openLimiter(
  config: Config,
  clock: Clock,
  metrics: Metrics,
  dependencies: Dependencies,
  logger?: Logger,
): RateLimiter {
  if (config.redisUrl === undefined) return new MemoryRateLimiter(clock);
  let lastError = '';
  const limiter: RedisRateLimiter = new RedisRateLimiter(config.redisUrl, clock, {
    commandTimeoutMs: config.ratelimitRedisTimeoutMs,
    onHealthChange: (healthy) => {
      metrics.rateLimitFallback.set(healthy ? 0 : 1);
      dependencies.set('redis_ratelimit', healthy);
      if (!healthy)
        logger?.warn(
          { dependency: 'redis', nodes: limiter.nodes },
          'rate limits fall back to a per-node share of each limit until redis is back',
        );
    },
    onError: (err) => {
      if (err.message === lastError) return;
      lastError = err.message;
      logger?.warn({ dependency: 'redis', err: err.message }, 'redis (rate limits): error');
    },
  });
  return limiter;
}

/** The composition root: reads config once, builds the adapters, hands them to core. */
export async function buildServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const logger = overrides.logger;
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? secureRandom;
  const metrics = new Metrics();
  const dependencies = new Dependencies(metrics, logger);
  // A bad KEYWARD_SIEM stops the start before anything is opened.
  const siemSinkList = siemSinks(config);
  if (!overrides.store) requireMasterKeySetting(config);
  const store = overrides.store ?? (await openStore(config, logger));
  // Before anything else touches the store: a wrong master key stops the start with nothing changed.
  const masterKey = await openMasterKey(config, store, { random, now: clock.now(), logger }).catch(
    async (err) => {
      if (!overrides.store) await store.close();
      throw err;
    },
  );
  const bus = overrides.bus ?? openBus(config, metrics, logger);
  if (config.redisUrl !== undefined) {
    if (bus instanceof RedisCacheBus && !(await bus.ready(3_000)))
      logger?.warn(
        { dependency: 'redis' },
        'redis is not reachable yet: verifying without the cache until it is',
      );
    const track = (healthy: boolean) => {
      dependencies.set('redis', healthy);
      metrics.cacheBypassed.set(healthy ? 0 : 1);
    };
    track(bus.healthy);
    bus.onHealthChange(track);
  }
  const ping =
    'ping' in store && typeof store.ping === 'function' ? () => (store as SqlStore).ping() : async () => {};
  const pingStore = async () => {
    try {
      await ping();
      dependencies.set('store', true);
      return true;
    } catch (err) {
      dependencies.set('store', false, err instanceof Error ? err.message : String(err));
      return false;
    }
  };
  await pingStore();
  const pinger = setInterval(() => void pingStore(), STORE_PING_INTERVAL_MS);
  pinger.unref();

  const limiter = overrides.limiter ?? openLimiter(config, clock, metrics, dependencies, logger);
  if (limiter instanceof RedisRateLimiter) await limiter.ready(3_000);
  const apiLimiter = new MemoryRateLimiter(clock);

  const audit = new AuditLog(store, clock);
  const siem = openSiem(siemSinkList, config, metrics, logger);
  exportAudit(siem, audit, store, logger);
  const rootKeys = new RootKeys(store, audit, bus, clock, random);
  const webhookSecrets = new WebhookSecretBox(masterKey.key, random);
  const sealedLegacy = await store.transaction((tx) => sealPlaintextWebhookSecrets(tx, webhookSecrets));
  if (sealedLegacy > 0)
    logger?.info(
      { webhooks: sealedLegacy },
      'sealed webhook signing secrets stored in clear by an earlier release',
    );
  const vault = new Vault(store, audit, clock, random, masterKey.key, webhookSecrets, {
    maxVersions: config.vaultMaxVersions,
    denyPrivateWebhooks: config.webhookDenyPrivate,
    resolveHost: overrides.resolveHost ?? resolveHost,
  });
  const checkSecretRotation = () => recordDueRotations(store, audit, clock, random);
  const webhooks = new Webhooks(store, audit, clock, random, webhookSecrets, {
    denyPrivate: config.webhookDenyPrivate,
    resolveHost: overrides.resolveHost ?? resolveHost,
  });
  const webhookDispatcher = new WebhookDispatcher(
    store,
    overrides.webhookSender ?? new HttpWebhookSender({ denyPrivate: config.webhookDenyPrivate }),
    clock,
    random,
    webhookSecrets,
    {
      schedule: parseRetrySchedule(config.webhookRetrySchedule),
      timeoutMs: config.webhookTimeoutMs,
      pollMs: config.webhookPollMs,
      concurrency: config.webhookConcurrency,
      // Ids and codes only: a URL can carry a token (`https://hooks.example.com/T0/B0/xyz`).
      onAttempt: (r) => {
        metrics.webhookDeliveries.inc({ outcome: r.outcome });
        const fields = {
          webhookId: r.webhookId,
          deliveryId: r.deliveryId,
          eventType: r.eventType,
          attempts: r.attempts,
          responseCode: r.responseCode,
          error: r.error,
        };
        if (r.outcome === 'failed') logger?.warn(fields, 'webhook: delivery failed, no attempts left');
        else logger?.debug(fields, `webhook: ${r.outcome}`);
      },
      onError: (err) =>
        logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'webhook: dispatch failed'),
    },
  );
  const checkExpiringKeys = () => recordExpiringKeys(store, clock, random);
  const startWebhooks = () => webhookDispatcher.start();
  const verifier = new Verifier(store, bus, clock, limiter, {
    cacheSize: config.cacheSize,
    cacheTtlMs: config.cacheTtlMs,
    negativeTtlMs: 2_000,
  });
  const usageWriter = openUsageWriter(config, store, !overrides.store, logger);
  const usage = new UsageRecorder(
    usageWriter,
    clock,
    { flushIntervalMs: config.usageFlushMs, maxQueued: config.usageQueueLimit },
    usageLogHooks(logger),
  );
  if (config.usageRecording === 'on') {
    verifier.attachUsage(usage);
    usage.start();
  }
  metrics.observeVerifications(verifier.stats);
  metrics.observeUsage(usage);
  exportUsage(siem, config, usage);
  const keys = new Keys(store, audit, bus, clock, random);
  const alertRules = new AlertRules(store, audit, clock, random);
  const alertEvaluator = new AlertEvaluator(store, keys, clock, random);
  alertEvaluator.attach(usage);
  alertEvaluator.onFired((alert) => {
    metrics.alertsFired.inc({ type: String(alert.detail.type) });
    siem.export('alert', alert);
  });
  alertEvaluator.onError((err) => {
    metrics.alertEvaluationFailures.inc();
    logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'alerts: evaluation failed');
  });
  const usageRetention = new UsageRetention(store, clock, {
    eventDays: config.usageRetentionDays,
    rollupDays: config.usageRollupRetentionDays,
  });
  const scheduler = new Scheduler(store, clock, {
    nodeId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: config.schedulerLeaseMs,
    tickMs: config.schedulerTickMs,
    onError: (task, err) =>
      logger?.error(
        { task, err: err instanceof Error ? err.message : String(err) },
        'scheduler: task failed',
      ),
    onLeadershipChange: (leader) =>
      logger?.info(
        { leader },
        leader ? 'scheduler: this node runs timed work' : 'scheduler: another node runs timed work',
      ),
  });
  // Timed work runs on the scheduler's leader only; each task is idempotent.
  scheduler.register(new ScheduledRotation(store, audit, bus, clock, config.rotationCheckMs));
  if (config.keyExpiryCheckMs > 0)
    scheduler.register({
      name: 'key-expiry-reminders',
      intervalMs: config.keyExpiryCheckMs,
      run: async () => void (await checkExpiringKeys()),
    });
  if (config.vaultRotationCheckMs > 0)
    scheduler.register({
      name: 'secret-rotation-due',
      intervalMs: config.vaultRotationCheckMs,
      run: async () => void (await checkSecretRotation()),
    });
  scheduler.register({
    name: 'usage-retention',
    intervalMs: 3_600_000,
    run: async () => void (await usageRetention.purge()),
  });
  const purgeWebhooks = () => purgeWebhookHistory(store, clock, config.webhookRetentionDays);
  scheduler.register({
    name: 'webhook-retention',
    intervalMs: 3_600_000,
    run: async () => void (await purgeWebhooks()),
  });

  return {
    config,
    clock,
    store,
    bus,
    metrics,
    dependencies,
    audit,
    rootKeys,
    workspaces: new Workspaces(store, audit, rootKeys, clock, random),
    keyspaces: new Keyspaces(store, audit, clock, random),
    keys,
    limiter,
    apiLimiter,
    standaloneLimits: new StandaloneLimits(limiter),
    revocations: new Revocations(store, audit, bus, clock, random),
    scheduler,
    verifier,
    usage,
    usageReports: new UsageReports(store, clock),
    usageRetention,
    purgeWebhookHistory: purgeWebhooks,
    alertRules,
    alertEvaluator,
    vault,
    siem,
    checkSecretRotation,
    webhooks,
    webhookDispatcher,
    checkExpiringKeys,
    startWebhooks,
    pingStore,
    async close() {
      // Usage first: its last batch needs the store (and the feed's listeners) still open.
      await scheduler.stop();
      await usage.close();
      await usageWriter.close();
      // The last batches' alert evaluation needs the store.
      await alertEvaluator.idle();
      clearInterval(pinger);
      await webhookDispatcher.stop();
      await limiter.close();
      await apiLimiter.close();
      await bus.close();
      await siem.close(SIEM_FLUSH_TIMEOUT_MS);
      await store.close();
    },
  };
}
