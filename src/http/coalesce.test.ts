import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../../test/support/raw-http.js';
import { coalesceWrites } from './coalesce.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(handler: RequestListener, coalesce = true): Promise<string> {
  const server = createServer({ keepAlive: true }, handler);
  if (coalesce) coalesceWrites(server);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Asks `url` once from a worker thread, which sets `arrived[0]` to 1 (Atomics) the moment the
 * first byte of the response arrives: the worker's event loop runs while this thread's is busy,
 * so a handler still running can see whether its response has reached the client.
 */
function askFromAnotherThread(url: string): { arrived: Int32Array; done: Promise<void> } {
  const { hostname, port } = new URL(url);
  const arrived = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const net = require('node:net');
     const { parentPort, workerData } = require('node:worker_threads');
     const socket = net.connect(${port}, '${hostname}', () => {
       socket.write('GET / HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n');
     });
     socket.once('data', () => { Atomics.store(workerData, 0, 1); parentPort.postMessage('arrived'); socket.destroy(); });`,
    { eval: true, workerData: arrived },
  );
  const done = new Promise<void>((resolve, reject) => {
    worker.once('message', () => {
      resolve();
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  return { arrived, done };
}

/**
 * A handler that answers, then keeps this thread busy (the rest of the event-loop turn: other
 * requests' work) for up to `ms` or until the client has the response, and records which.
 */
function answerThenBusy(ms: number, client: { arrived?: Int32Array; duringTurn?: boolean }): RequestListener {
  return (_req, res) => {
    res.end('hello');
    const until = Date.now() + ms;
    const arrived = () => client.arrived !== undefined && Atomics.load(client.arrived, 0) === 1;
    while (Date.now() < until && !arrived()) {
      // busy
    }
    client.duringTurn = arrived();
  };
}

describe('coalesceWrites', () => {
  it('sends a response at the end of the event-loop turn that finished it, not before', async () => {
    const client: { arrived?: Int32Array; duringTurn?: boolean } = {};
    const url = await serve(answerThenBusy(300, client));
    const { arrived, done } = askFromAnotherThread(url);
    client.arrived = arrived;
    await done;
    expect(client.duringTurn).toBe(false);
  });

  it('without it, the same response reaches the client while the turn is still busy (the test can tell)', async () => {
    const client: { arrived?: Int32Array; duringTurn?: boolean } = {};
    // Busy until the client has it (10 s at most): a slow machine only makes the wait longer.
    const url = await serve(answerThenBusy(10_000, client), false);
    const { arrived, done } = askFromAnotherThread(url);
    client.arrived = arrived;
    await done;
    expect(client.duringTurn).toBe(true);
  });

  it('sends what was written to a socket destroyed right after (how Node answers a request it cannot parse)', async () => {
    const url = await serve((req) => {
      req.socket.write('HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad');
      req.socket.destroy();
    });
    const got = await exchange(url, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(got).toMatch(/^HTTP\/1.1 400 Bad Request\r\n[\s\S]*\r\n\r\nbad$/);
  });

  it('answers many concurrent keep-alive requests, each with its own body', async () => {
    const url = await serve((req, res) => {
      // Half answered in the turn the request arrived, half in a later one.
      const answer = () => res.end(JSON.stringify({ path: req.url }));
      if (Number(req.url?.slice(1)) % 2 === 0) answer();
      else setTimeout(answer, 1);
    });
    const paths = Array.from({ length: 400 }, (_, i) => `/${i}`);
    const bodies = await Promise.all(paths.map(async (p) => (await fetch(url + p)).json()));
    expect(bodies).toEqual(paths.map((path) => ({ path })));
  });

  it('streams a large response with back-pressure intact', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const url = await serve((_req, res) => {
      res.setHeader('content-length', data.length);
      // 64 KiB chunks: many writes, each waiting for the one before to be sent.
      Readable.from(
        (function* () {
          for (let at = 0; at < data.length; at += 65_536) yield data.subarray(at, at + 65_536);
        })(),
      ).pipe(res);
    });
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(body.length).toBe(data.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });

  it('keeps serving when clients vanish before their answers are sent', async () => {
    const url = await serve((req, res) => {
      // The client is gone by the time this turn ends and the write is attempted.
      if (req.url === '/gone') req.socket.destroy();
      res.end('late');
    });
    const { hostname, port } = new URL(url);
    const gone = Array.from(
      { length: 50 },
      () =>
        new Promise<void>((resolve) => {
          const r = request({ hostname, port, path: '/gone' });
          r.on('error', () => resolve());
          r.on('response', () => resolve());
          r.end();
        }),
    );
    await Promise.all(gone);
    const ok = await Promise.all(Array.from({ length: 50 }, async () => (await fetch(url)).text()));
    expect(ok).toEqual(Array(50).fill('late'));
  });

  it('sends a response and then closes the connection in that order (connection: close)', async () => {
    const url = await serve((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const res = await fetch(url);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.text()).toBe('bye');
  });
});
