import { resolve } from 'node:path';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';

/**
 * Every setting, its unit and its default, in one schema. Parsed once at start and frozen.
 * Flags win over the environment; the environment wins over defaults.
 */
export const ConfigSchema = Type.Object({
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 7373,
    description: 'TCP port (KEYWARD_PORT, --port)',
  }),
  host: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'Listen address (KEYWARD_HOST, --host)',
  }),
  dataDir: Type.String({
    minLength: 1,
    default: './.keyward',
    description: 'Data directory (KEYWARD_DATA_DIR, --data)',
  }),
  databaseUrl: Type.Optional(
    Type.String({ description: 'postgres:// URL (KEYWARD_DATABASE_URL); unset: SQLite' }),
  ),
  redisUrl: Type.Optional(
    Type.String({ description: 'redis:// URL (KEYWARD_REDIS_URL); unset: in-process' }),
  ),
  ratelimitRedisTimeoutMs: Type.Integer({
    minimum: 10,
    maximum: 60_000,
    default: 500,
    description:
      'How long a rate-limit decision waits for Redis before deciding on the node share (KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS)',
  }),
  databasePoolSize: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'PostgreSQL connections per node (KEYWARD_DATABASE_POOL_SIZE)',
  }),
  logLevel: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info', description: 'pino level (KEYWARD_LOG_LEVEL)' },
  ),
  bodyLimit: Type.Integer({
    minimum: 1024,
    maximum: 64 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'Max request body in bytes (KEYWARD_BODY_LIMIT)',
  }),
  cacheSize: Type.Integer({
    minimum: 0,
    default: 100_000,
    description: 'Verification cache entries (KEYWARD_CACHE_SIZE)',
  }),
  schedulerTickMs: Type.Integer({
    minimum: 100,
    default: 5_000,
    description: 'How often each node tries to lead and run timed work, ms (KEYWARD_SCHEDULER_TICK_MS)',
  }),
  rotationCheckMs: Type.Integer({
    minimum: 100,
    default: 30_000,
    description: 'How often the leader looks for keys due for rotation, ms (KEYWARD_ROTATION_CHECK_MS)',
  }),
  schedulerLeaseMs: Type.Integer({
    minimum: 1_000,
    default: 15_000,
    description:
      'Scheduler lease; a dead leader is replaced after at most this, ms (KEYWARD_SCHEDULER_LEASE_MS)',
  }),
  rootKeyRateLimit: Type.Integer({
    minimum: 0,
    default: 50_000,
    description:
      'Calls a second each root key may make, per node; 0 turns the limit off (KEYWARD_ROOT_KEY_RATE_LIMIT)',
  }),
  cacheTtlMs: Type.Integer({
    minimum: 0,
    default: 60_000,
    description: 'Verification cache TTL in ms (KEYWARD_CACHE_TTL_MS)',
  }),
  masterKey: Type.Optional(
    Type.String({
      description:
        'Vault master key: 32 bytes as base64 (KEYWARD_MASTER_KEY). Unset: KEYWARD_MASTER_KEY_FILE, or with SQLite <dataDir>/master.key (generated on first start)',
    }),
  ),
  masterKeyFile: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'File holding the base64 master key (KEYWARD_MASTER_KEY_FILE)',
    }),
  ),
  vaultMaxVersions: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'Versions kept per secret; older unlabelled ones are pruned (KEYWARD_VAULT_MAX_VERSIONS)',
  }),
  vaultRotationCheckMs: Type.Integer({
    minimum: 0,
    default: 60_000,
    description:
      'How often secrets are checked against rotation.maxAgeSeconds, in ms; 0 turns the check off (KEYWARD_VAULT_ROTATION_CHECK_MS)',
  }),
  webhookRetentionDays: Type.Integer({
    minimum: 0,
    maximum: 36_500,
    default: 30,
    description:
      'Days finished webhook deliveries (and dispatched events, passed expiry reminders) are kept; 0 keeps them forever (KEYWARD_WEBHOOK_RETENTION_DAYS)',
  }),
  usageRecording: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Whether verifications are recorded as usage events (KEYWARD_USAGE_RECORDING=on|off); off: no events, rollups or lastUsedAt',
  }),
  writeCoalescing: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Whether the responses finished in one event-loop turn are sent together at its end (KEYWARD_WRITE_COALESCING=on|off); off: each is sent as it is finished',
  }),
  usageRetentionDays: Type.Integer({
    minimum: 0,
    maximum: 36_500,
    default: 30,
    description:
      'Days raw usage events and minute counts are kept; 0 keeps them forever (KEYWARD_USAGE_RETENTION_DAYS)',
  }),
  usageRollupRetentionDays: Type.Integer({
    minimum: 0,
    maximum: 36_500,
    default: 400,
    description:
      'Days hourly usage counts (hour and day series) are kept; 0 keeps them forever (KEYWARD_USAGE_ROLLUP_RETENTION_DAYS)',
  }),
  usageQueueLimit: Type.Integer({
    minimum: 1_000,
    maximum: 10_000_000,
    default: 100_000,
    description:
      'Usage events held in memory while waiting to be written; beyond, new events are dropped and counted (KEYWARD_USAGE_QUEUE_LIMIT)',
  }),
  usageFlushMs: Type.Integer({
    minimum: 10,
    maximum: 60_000,
    default: 1_000,
    description:
      'How often usage events are written, in ms (a batch of 5000 is written at once) (KEYWARD_USAGE_FLUSH_MS)',
  }),
  siem: Type.Optional(
    Type.String({
      description:
        'SIEM sinks, comma-separated: syslog+tcp://host:port, syslog+tls://host:port[?ca=/path.pem], syslog+udp://host:port, file:///path.jsonl (KEYWARD_SIEM, --siem); unset: no export',
    }),
  ),
  siemUsage: Type.Boolean({
    default: false,
    description: 'Also export every usage event (verification) to the SIEM sinks (KEYWARD_SIEM_USAGE=1)',
  }),
  siemTlsCa: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'PEM file of the private CA that syslog+tls sinks trust instead of the system store (KEYWARD_SIEM_TLS_CA); ?ca= on a sink wins',
    }),
  ),
  siemBuffer: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 10_000,
    description:
      'Events held per SIEM sink while it is down; beyond, new events are dropped and counted (KEYWARD_SIEM_BUFFER)',
  }),
  webhookDenyPrivate: Type.Boolean({
    default: false,
    description:
      'Refuse webhook URLs that are or resolve to loopback, private or link-local addresses, at registration and on every attempt (KEYWARD_WEBHOOK_DENY_PRIVATE=1)',
  }),
  webhookTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 120_000,
    default: 15_000,
    description: 'Timeout of one webhook delivery attempt, in ms (KEYWARD_WEBHOOK_TIMEOUT_MS)',
  }),
  webhookPollMs: Type.Integer({
    minimum: 0,
    default: 1_000,
    description:
      'How often a node looks for new events and due webhook deliveries, in ms; 0: this node delivers none (KEYWARD_WEBHOOK_POLL_MS)',
  }),
  webhookConcurrency: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 16,
    description: 'Webhook delivery attempts in flight at once, per node (KEYWARD_WEBHOOK_CONCURRENCY)',
  }),
  webhookRetrySchedule: Type.String({
    pattern: '^[0-9]{1,10}(,[0-9]{1,10}){0,49}$',
    default: '0,5000,300000,1800000,7200000,18000000,36000000,36000000',
    description:
      'Delay before each webhook delivery attempt, in ms, comma-separated (each varies by ±20 %); when the last attempt fails the delivery is failed (KEYWARD_WEBHOOK_RETRY_SCHEDULE_MS)',
  }),
  keyExpiryCheckMs: Type.Integer({
    minimum: 0,
    default: 60_000,
    description:
      'How often keys are checked for `key.expiring` reminders (7 days and 1 day before expiry), in ms; 0 turns the check off (KEYWARD_KEY_EXPIRY_CHECK_MS)',
  }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;

export interface ConfigFlags {
  port?: string | number | undefined;
  host?: string | undefined;
  data?: string | undefined;
  siem?: string | undefined;
}

const ENV: Record<string, keyof Config> = {
  KEYWARD_PORT: 'port',
  KEYWARD_HOST: 'host',
  KEYWARD_DATA_DIR: 'dataDir',
  KEYWARD_DATABASE_URL: 'databaseUrl',
  KEYWARD_REDIS_URL: 'redisUrl',
  KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS: 'ratelimitRedisTimeoutMs',
  KEYWARD_DATABASE_POOL_SIZE: 'databasePoolSize',
  KEYWARD_ROOT_KEY_RATE_LIMIT: 'rootKeyRateLimit',
  KEYWARD_SCHEDULER_TICK_MS: 'schedulerTickMs',
  KEYWARD_SCHEDULER_LEASE_MS: 'schedulerLeaseMs',
  KEYWARD_ROTATION_CHECK_MS: 'rotationCheckMs',
  KEYWARD_LOG_LEVEL: 'logLevel',
  KEYWARD_BODY_LIMIT: 'bodyLimit',
  KEYWARD_CACHE_SIZE: 'cacheSize',
  KEYWARD_CACHE_TTL_MS: 'cacheTtlMs',
  KEYWARD_MASTER_KEY: 'masterKey',
  KEYWARD_MASTER_KEY_FILE: 'masterKeyFile',
  KEYWARD_VAULT_MAX_VERSIONS: 'vaultMaxVersions',
  KEYWARD_VAULT_ROTATION_CHECK_MS: 'vaultRotationCheckMs',
  KEYWARD_USAGE_RECORDING: 'usageRecording',
  KEYWARD_WRITE_COALESCING: 'writeCoalescing',
  KEYWARD_USAGE_RETENTION_DAYS: 'usageRetentionDays',
  KEYWARD_USAGE_ROLLUP_RETENTION_DAYS: 'usageRollupRetentionDays',
  KEYWARD_USAGE_QUEUE_LIMIT: 'usageQueueLimit',
  KEYWARD_USAGE_FLUSH_MS: 'usageFlushMs',
  KEYWARD_SIEM: 'siem',
  KEYWARD_SIEM_USAGE: 'siemUsage',
  KEYWARD_SIEM_TLS_CA: 'siemTlsCa',
  KEYWARD_SIEM_BUFFER: 'siemBuffer',
  KEYWARD_WEBHOOK_DENY_PRIVATE: 'webhookDenyPrivate',
  KEYWARD_WEBHOOK_TIMEOUT_MS: 'webhookTimeoutMs',
  KEYWARD_WEBHOOK_POLL_MS: 'webhookPollMs',
  KEYWARD_WEBHOOK_CONCURRENCY: 'webhookConcurrency',
  KEYWARD_WEBHOOK_RETRY_SCHEDULE_MS: 'webhookRetrySchedule',
  KEYWARD_WEBHOOK_RETENTION_DAYS: 'webhookRetentionDays',
  KEYWARD_KEY_EXPIRY_CHECK_MS: 'keyExpiryCheckMs',
};

/** `a, b, c` when the setting is a choice among literals (a union of `Type.Literal`), else undefined. */
function literalChoices(field: string): string | undefined {
  const schema = (ConfigSchema.properties as Record<string, { anyOf?: { const?: unknown }[] }>)[field];
  const options = schema?.anyOf?.map((s) => s.const);
  if (!options || options.length === 0 || options.some((o) => o === undefined)) return undefined;
  return options.map(String).join(', ');
}

const NUMERIC = new Set<keyof Config>([
  'port',
  'bodyLimit',
  'cacheSize',
  'cacheTtlMs',
  'databasePoolSize',
  'ratelimitRedisTimeoutMs',
  'rootKeyRateLimit',
  'schedulerTickMs',
  'schedulerLeaseMs',
  'rotationCheckMs',
  'vaultMaxVersions',
  'vaultRotationCheckMs',
  'usageRetentionDays',
  'usageRollupRetentionDays',
  'usageQueueLimit',
  'usageFlushMs',
  'siemBuffer',
  'webhookTimeoutMs',
  'webhookPollMs',
  'webhookConcurrency',
  'webhookRetentionDays',
  'keyExpiryCheckMs',
]);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[field] = v;
  }
  if (flags.port !== undefined) raw.port = flags.port;
  if (flags.host !== undefined) raw.host = flags.host;
  if (flags.data !== undefined) raw.dataDir = flags.data;
  if (flags.siem !== undefined) raw.siem = flags.siem;
  if (typeof raw.siemUsage === 'string') {
    const v = raw.siemUsage.trim().toLowerCase();
    raw.siemUsage = v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : v;
  }
  if (typeof raw.webhookDenyPrivate === 'string') {
    const v = raw.webhookDenyPrivate.trim().toLowerCase();
    raw.webhookDenyPrivate = v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : v;
  }
  for (const field of NUMERIC) {
    const v = raw[field];
    if (typeof v === 'string') raw[field] = /^\d+$/.test(v.trim()) ? Number(v) : v;
  }
  const withDefaults = Value.Default(ConfigSchema, raw);
  const problems = [...Value.Errors(ConfigSchema, withDefaults)];
  if (problems.length > 0) {
    const lines = new Set(
      problems.map((p) => {
        const field = p.instancePath.replace(/^\//, '');
        const envName = Object.keys(ENV).find((k) => ENV[k] === field);
        // A choice (`on` | `off`, a log level) is one line naming the choices, not one per choice.
        const choices = literalChoices(field);
        return `${field}${envName ? ` (${envName})` : ''} ${choices ? `must be one of ${choices}` : p.message}`;
      }),
    );
    throw new ConfigError(`invalid configuration: ${[...lines].join('; ')}`);
  }
  const config = withDefaults as Static<typeof ConfigSchema>;
  if (config.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(config.databaseUrl))
    throw new ConfigError('invalid configuration: KEYWARD_DATABASE_URL must be a postgres:// URL');
  if (config.redisUrl !== undefined && !/^rediss?:\/\//.test(config.redisUrl))
    throw new ConfigError('invalid configuration: KEYWARD_REDIS_URL must be a redis:// or rediss:// URL');
  return Object.freeze({ ...config, dataDir: resolve(config.dataDir) });
}
