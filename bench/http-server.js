// The server side of benchmark 2, run as a child process of run.js (never in the process running
// autocannon): `node bench/http-server.js baseline|keyward`. Reports `{ port, ... }` over IPC once
// listening, answers `cpu` with its CPU time so far, and exits cleanly on `stop` (so that
// `--cpu-prof` can write its profile).
import Fastify from 'fastify';
import { buildApp } from '../dist/http/app.js';
import { createFixture } from './fixture.js';

async function baseline() {
  // A plain Fastify hello world: default JSON body parser, no schema, no hooks, no logger.
  const app = Fastify();
  app.post('/', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, info: {}, dispose: async () => {} };
}

async function keyward() {
  const fx = await createFixture();
  const app = await buildApp(fx.services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, info: { rootKey: fx.rootKey, key: fx.key }, dispose: () => fx.dispose() };
}

const which = process.argv[2];
if (which !== 'baseline' && which !== 'keyward') {
  console.error('usage: node bench/http-server.js baseline|keyward');
  process.exit(2);
}
if (!process.send) {
  console.error('bench/http-server.js is started by bench/run.js (it reports over IPC)');
  process.exit(2);
}

const server = which === 'baseline' ? await baseline() : await keyward();
process.on('message', async (m) => {
  if (m === 'cpu') {
    // user + system CPU time of this process in µs, so the parent can work out CPU per request.
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system });
    return;
  }
  if (m !== 'stop') return;
  await server.app.close();
  await server.dispose();
  process.exit(0);
});
process.send({ ready: true, port: server.app.server.address().port, ...server.info });
