// The server side of the HTTP benchmarks, run as a child process of run.js (never in the process
// running autocannon): `node bench/http-server.js baseline|keyward|join [options JSON]`.
//   node      a Node.js http hello world, no Fastify (how much of the baseline is the framework)
//   baseline  a plain Fastify hello world
//   schema    a Fastify route with Keyward's verify schemas and request id, doing no work
//   keyward   Keyward on a bootstrapped store, with the keys named in `options.keys`, logging
//             as `npm start` does (to /dev/null; `options.logger: false` for none)
//   join      Keyward on a store another process bootstrapped (a second node), logging alike
// `options.env` is the whole Keyward environment (KEYWARD_DATABASE_URL, KEYWARD_REDIS_URL, …);
// `options.coalesce: true` gives the baseline Keyward's write coalescing (src/http/coalesce.ts);
// `options.helloWorld: true` makes a Keyward server also answer `POST /hello-world` as the Node.js
// hello world does, outside Fastify (what the Keyward process itself costs a request).
// Reports `{ ready, port, ... }` over IPC once listening, then answers: `cpu` (its CPU time so
// far), `mainThreadCpu` (the main thread's alone, Linux; null elsewhere), `{ cmd: 'keys', count, input }` (creates keys through the service), `{ cmd: 'clones',
// count }` (inserts valid keys in bulk, bench/bulk-keys.js), `{ cmd: 'cacheSize' }`, and exits
// cleanly on `stop` (so that `--cpu-prof` can write its profile).
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../dist/http/app.js';
import { coalesceWrites } from '../dist/http/coalesce.js';
import { keepTickShapeAlive } from '../dist/http/tick-shape.js';
import { serverLogger } from '../dist/server/start.js';
import { insertKeyClones } from './bulk-keys.js';
import { createFixture, openServices } from './fixture.js';
import { threadCpuNs } from './stats.js';

/** The Node.js hello world's answer: read the body, parse it, answer {"hello":"world"}. */
function helloWorld(req, res) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    JSON.parse(body);
    const answer = JSON.stringify({ hello: 'world' });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
  });
}

async function node() {
  const server = createServer(helloWorld);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const app = { server, close: () => new Promise((resolve) => server.close(resolve)) };
  return { app, info: {}, dispose: async () => {} };
}

/** Puts `POST /hello-world` in front of Fastify's request listener (options.helloWorld). */
function answerHelloWorld(server) {
  const [fastify] = server.listeners('request');
  server.removeAllListeners('request');
  server.on('request', (req, res) => (req.url === '/hello-world' ? helloWorld(req, res) : fastify(req, res)));
}

async function baseline(options) {
  // A plain Fastify hello world: default JSON body parser, no schema, no hooks, no logger.
  const app = Fastify();
  // For bench/http-breakdown.js only: what Keyward's write coalescing would give the baseline.
  if (options.coalesce) coalesceWrites(app.server);
  app.post('/', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, info: {}, dispose: async () => {} };
}

/**
 * A Fastify route shaped like Keyward's verification, doing none of its work: Keyward's request
 * id hook, body validator and the verify request and response schemas, answering a fixed body
 * of the same size. Between the hello world and Keyward, for bench/http-breakdown.js.
 */
async function schema() {
  const [{ idSequence }, { VerifyBody, VerifyResponse }, { validatorCompiler }] = await Promise.all([
    import('../dist/core/ids/index.js'),
    import('../dist/http/schemas/keys.js'),
    import('../dist/http/validation.js'),
  ]);
  const app = Fastify({ logger: false, genReqId: idSequence('request'), requestIdHeader: false });
  app.setValidatorCompiler(validatorCompiler());
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  const answer = {
    valid: true,
    code: 'VALID',
    keyId: 'key_00000000000000000000',
    keyspaceId: 'ks_00000000000000000000',
    ownerId: null,
    name: null,
    meta: {},
    scopes: [],
    expiresAt: null,
  };
  app.post('/', { schema: { body: VerifyBody, response: { 200: VerifyResponse } } }, () => answer);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, info: {}, dispose: async () => {} };
}

/**
 * `npm start`'s logger (bin/keyward.js serve), at the configured level, writing to /dev/null
 * instead of stdout; `options.logger: false` builds the app without one.
 */
function logger(services, options) {
  return options.logger === false
    ? {}
    : { logger: serverLogger(services.config, pino.destination('/dev/null')) };
}

async function keyward(options) {
  const fx = await createFixture({ env: options.env, keys: options.keys });
  const app = await buildApp(fx.services, logger(fx.services, options));
  await app.listen({ port: 0, host: '127.0.0.1' });
  if (options.helloWorld) answerHelloWorld(app.server);
  return {
    app,
    fx,
    info: { rootKey: fx.rootKey, key: fx.key, keys: fx.keys, keyspaceId: fx.keyspaceId },
    dispose: () => fx.dispose(),
  };
}

async function join(options) {
  const node = await openServices(options.env);
  const app = await buildApp(node.services, logger(node.services, options));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, fx: { services: node.services }, info: {}, dispose: () => node.dispose() };
}

const which = process.argv[2];
const MODES = { node, baseline, schema, keyward, join };
if (!Object.hasOwn(MODES, which)) {
  console.error('usage: node bench/http-server.js node|baseline|schema|keyward|join [options JSON]');
  process.exit(2);
}
if (!process.send) {
  console.error('bench/http-server.js is started by bench/run.js (it reports over IPC)');
  process.exit(2);
}
const options = JSON.parse(process.argv[3] ?? '{}');

// Every server, the baselines too, keeps process.nextTick on its fast path as Keyward's app does
// (src/http/tick-shape.ts): without it a process runs at its slower speed for good once a full
// garbage collection has come at the wrong moment, so a baseline would be measured at either of
// two speeds (docs/benchmarks.md, "Ninth session"). The figures compare against its faster one.
keepTickShapeAlive();
const server = await MODES[which](options);

async function command(m) {
  const { services } = server.fx;
  if (m.cmd === 'cacheSize') return { cacheSize: services.verifier.cacheSize };
  if (m.cmd === 'keys') {
    const principal = await services.rootKeys.authenticate(server.info.rootKey);
    const ctx = { principal, ip: null };
    const out = [];
    for (let i = 0; i < m.count; i++) {
      const created = await services.keys.create(ctx, server.info.keyspaceId, m.input ?? {});
      out.push({ id: created.record.id, key: created.key });
    }
    return { keys: out };
  }
  if (m.cmd === 'clones') {
    return { keys: await insertKeyClones(services.config, server.info.keys.key.id, m.count) };
  }
  throw new Error(`unknown command ${m.cmd}`);
}

process.on('message', async (m) => {
  if (m === 'mainThreadCpu') {
    // IPC messages are handled on the main thread: its CPU time, in µs.
    const ns = threadCpuNs();
    process.send({ mainThreadCpu: ns === null ? null : ns / 1000 });
    return;
  }
  if (m === 'cpu') {
    // user + system CPU time of this process in µs, so the parent can work out CPU per request.
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system });
    return;
  }
  if (typeof m === 'object' && m?.cmd) {
    try {
      process.send({ reply: m.cmd, ...(await command(m)) });
    } catch (err) {
      process.send({ reply: m.cmd, error: err instanceof Error ? err.stack : String(err) });
    }
    return;
  }
  if (m !== 'stop') return;
  await server.app.close();
  await server.dispose();
  process.exit(0);
});
process.send({ ready: true, port: server.app.server.address().port, ...server.info });
