import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const flags = { data: '/tmp/keyward-config-test' };

describe('loadConfig', () => {
  it('sends responses per event-loop turn by default, and each at once with KEYWARD_WRITE_COALESCING=off', () => {
    expect(loadConfig(flags, {}).writeCoalescing).toBe('on');
    expect(loadConfig(flags, { KEYWARD_WRITE_COALESCING: 'off' }).writeCoalescing).toBe('off');
  });

  it('names the choices of a setting given something else, once', () => {
    expect(() => loadConfig(flags, { KEYWARD_WRITE_COALESCING: 'maybe' })).toThrow(
      /^invalid configuration: writeCoalescing \(KEYWARD_WRITE_COALESCING\) must be one of on, off$/,
    );
    expect(() => loadConfig(flags, { KEYWARD_LOG_LEVEL: 'loud' })).toThrow(
      /^invalid configuration: logLevel \(KEYWARD_LOG_LEVEL\) must be one of fatal, error, warn, info, debug, trace, silent$/,
    );
  });

  it('waits 500 ms for Redis on a rate-limit decision by default, as long as KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS says', () => {
    expect(loadConfig(flags, {}).ratelimitRedisTimeoutMs).toBe(500);
    expect(loadConfig(flags, { KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS: '2000' }).ratelimitRedisTimeoutMs).toBe(
      2_000,
    );
    expect(() => loadConfig(flags, { KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS: '0' })).toThrow(
      /ratelimitRedisTimeoutMs \(KEYWARD_RATELIMIT_REDIS_TIMEOUT_MS\) must be >= 10/,
    );
  });

  it('lists every bad setting with its variable', () => {
    expect(() => loadConfig(flags, { KEYWARD_PORT: 'x', KEYWARD_USAGE_RECORDING: 'yes' })).toThrow(
      /port \(KEYWARD_PORT\) must be integer.*usageRecording \(KEYWARD_USAGE_RECORDING\) must be one of on, off/,
    );
  });
});
