import { join } from 'node:path';
import type { Logger } from 'pino';
import { RedisCacheBus, RedisRateLimiter } from '../adapters/redis/index.js';
import { openPostgresStore, openSqliteStore, type SqlStore } from '../adapters/sql/index.js';
import { AuditLog } from '../core/audit/index.js';
import { type CacheBus, InProcessCacheBus } from '../core/cache-bus/index.js';
import { type Clock, systemClock } from '../core/clock/index.js';
import { type RandomSource, secureRandom } from '../core/crypto/index.js';
import { Keys } from '../core/keys/index.js';
import { Keyspaces } from '../core/keyspaces/index.js';
import { MemoryRateLimiter, type RateLimiter, StandaloneLimits } from '../core/ratelimit/index.js';
import { RootKeys } from '../core/root-keys/index.js';
import type { SiemExport } from '../core/siem/index.js';
import type { Store } from '../core/store/index.js';
import { recordDueRotations, Vault } from '../core/vault/index.js';
import { Verifier } from '../core/verification/index.js';
import { Workspaces } from '../core/workspaces/index.js';
import type { Config } from './config.js';
import { Dependencies } from './dependencies.js';
import { openMasterKey, requireMasterKeySetting } from './master-key.js';
import { Metrics } from './metrics.js';
import { redactUrl } from './redact.js';
import { exportAudit, openSiem, SIEM_FLUSH_TIMEOUT_MS, siemSinks } from './siem.js';

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
  metrics: Metrics;
  dependencies: Dependencies;
  audit: AuditLog;
  rootKeys: RootKeys;
  workspaces: Workspaces;
  keyspaces: Keyspaces;
  keys: Keys;
  verifier: Verifier;
  /** Secrets held for third-party APIs (docs/vault.md). */
  vault: Vault;
  /** SIEM export (KEYWARD_SIEM): hand alerts here with `siem.export('alert', alert)`; never blocks. */
  siem: SiemExport;
  /** Records `secret.rotation_due` for secrets past their rotation age; the server runs it on a timer. */
  checkSecretRotation(): Promise<number>;
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
}

const STORE_PING_INTERVAL_MS = 1_000;

/** PostgreSQL when `databaseUrl` is set, SQLite in the data directory otherwise. */
export async function openStore(config: Config, logger?: Logger): Promise<SqlStore> {
  if (config.databaseUrl === undefined) return openSqliteStore(join(config.dataDir, 'keyward.db'));
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
  exportAudit(siem, audit);
  const rootKeys = new RootKeys(store, audit, bus, clock, random);
  const vault = new Vault(store, audit, clock, random, masterKey.key, {
    maxVersions: config.vaultMaxVersions,
  });
  const checkSecretRotation = () => recordDueRotations(store, audit, clock, random);
  const rotationTimer =
    config.vaultRotationCheckMs > 0
      ? setInterval(
          () =>
            void checkSecretRotation().catch((err: unknown) =>
              logger?.error(
                { err: err instanceof Error ? err.message : String(err) },
                'vault: rotation check failed',
              ),
            ),
          config.vaultRotationCheckMs,
        )
      : undefined;
  rotationTimer?.unref();
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
    keys: new Keys(store, audit, bus, clock, random),
    limiter,
    apiLimiter,
    standaloneLimits: new StandaloneLimits(limiter),
    verifier: new Verifier(store, bus, clock, limiter, {
      cacheSize: config.cacheSize,
      cacheTtlMs: config.cacheTtlMs,
      negativeTtlMs: 2_000,
    }),
    vault,
    siem,
    checkSecretRotation,
    pingStore,
    async close() {
      clearInterval(pinger);
      clearInterval(rotationTimer);
      await limiter.close();
      await apiLimiter.close();
      await bus.close();
      await siem.close(SIEM_FLUSH_TIMEOUT_MS);
      await store.close();
    },
  };
}
