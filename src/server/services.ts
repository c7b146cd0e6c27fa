import { join } from 'node:path';
import { openSqliteStore } from '../adapters/sql/index.js';
import { AuditLog } from '../core/audit/index.js';
import { type CacheBus, InProcessCacheBus } from '../core/cache-bus/index.js';
import { type Clock, systemClock } from '../core/clock/index.js';
import { type RandomSource, secureRandom } from '../core/crypto/index.js';
import { Keys } from '../core/keys/index.js';
import { Keyspaces } from '../core/keyspaces/index.js';
import { RootKeys } from '../core/root-keys/index.js';
import type { Store } from '../core/store/index.js';
import { Verifier } from '../core/verification/index.js';
import { Workspaces } from '../core/workspaces/index.js';
import { type Config, ConfigError } from './config.js';

/** Everything the HTTP layer and the CLI call into, built once from config. */
export interface Services {
  config: Config;
  clock: Clock;
  store: Store;
  bus: CacheBus;
  audit: AuditLog;
  rootKeys: RootKeys;
  workspaces: Workspaces;
  keyspaces: Keyspaces;
  keys: Keys;
  verifier: Verifier;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  store?: Store;
  clock?: Clock;
  random?: RandomSource;
  bus?: CacheBus;
}

export async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl !== undefined)
    throw new ConfigError(
      'KEYWARD_DATABASE_URL: PostgreSQL is not supported by this version yet; unset it to use SQLite',
    );
  return openSqliteStore(join(config.dataDir, 'keyward.db'));
}

/** The composition root: reads config once, builds the adapters, hands them to core. */
export async function buildServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  if (config.redisUrl !== undefined)
    throw new ConfigError(
      'KEYWARD_REDIS_URL: Redis is not supported by this version yet; unset it for one node',
    );
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? secureRandom;
  const store = overrides.store ?? (await openStore(config));
  const bus = overrides.bus ?? new InProcessCacheBus();
  const audit = new AuditLog(store, clock);
  const rootKeys = new RootKeys(store, audit, bus, clock, random);
  return {
    config,
    clock,
    store,
    bus,
    audit,
    rootKeys,
    workspaces: new Workspaces(store, audit, rootKeys, clock, random),
    keyspaces: new Keyspaces(store, audit, clock, random),
    keys: new Keys(store, audit, bus, clock, random),
    verifier: new Verifier(store, bus, clock, {
      cacheSize: config.cacheSize,
      cacheTtlMs: config.cacheTtlMs,
      negativeTtlMs: 2_000,
    }),
    async close() {
      await bus.close();
      await store.close();
    },
  };
}
