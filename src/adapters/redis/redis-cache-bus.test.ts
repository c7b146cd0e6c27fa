import { describe } from 'vitest';
import { redisUrl } from '../../../test/support/services.js';
import { describeCacheBusContract } from '../../core/cache-bus/cache-bus.contract.js';
import { RedisCacheBus } from './redis-cache-bus.js';

const url = redisUrl();

describe.skipIf(!url)('Redis cache bus', () => {
  describeCacheBusContract('redis', async () => {
    const a = new RedisCacheBus(url ?? '');
    const b = new RedisCacheBus(url ?? '');
    await Promise.all([a.ready(), b.ready()]);
    return { a, b, close: async () => Promise.all([a.close(), b.close()]).then(() => undefined) };
  });
});
