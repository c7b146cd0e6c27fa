import { describeCacheBusContract } from './cache-bus.contract.js';
import { InProcessCacheBus } from './cache-bus.js';

describeCacheBusContract('in-process', async () => {
  const bus = new InProcessCacheBus();
  return { a: bus, b: bus, close: () => bus.close() };
});
