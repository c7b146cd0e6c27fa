import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
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
 * Asks `url` once from a worker thread and answers when the first byte of the response arrived
 * (Date.now(), the same clock in both threads): the worker's event loop runs while this
 * thread's is busy, so it sees a response the moment it is sent.
 */
function firstByteAt(url: string): { sent: Promise<void>; arrived: Promise<number> } {
  const { hostname, port } = new URL(url);
  const worker = new Worker(
    `const net = require('node:net');
     const { parentPort } = require('node:worker_threads');
     const socket = net.connect(${port}, '${hostname}', () => {
       socket.write('GET / HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n', () => parentPort.postMessage('sent'));
     });
     socket.once('data', () => { parentPort.postMessage(Date.now()); socket.destroy(); });`,
    { eval: true },
  );
  const sent = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  const arrived = new Promise<number>((resolve, reject) => {
    worker.on('message', (m) => {
      if (typeof m === 'number') {
        resolve(m);
        void worker.terminate();
      }
    });
    worker.once('error', reject);
  });
  return { sent, arrived };
}

/** A handler that answers, then keeps this thread busy for `ms` and records when it stopped. */
function answerThenBusy(ms: number, done: { at: number }): RequestListener {
  return (_req, res) => {
    res.end('hello');
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // the rest of the event-loop turn: other requests' work
    }
    done.at = Date.now();
  };
}

describe('coalesceWrites', () => {
  it('sends a response at the end of the event-loop turn that finished it, not before', async () => {
    const done = { at: 0 };
    const url = await serve(answerThenBusy(150, done));
    const { arrived } = firstByteAt(url);
    expect(await arrived).toBeGreaterThanOrEqual(done.at);
  });

  it('without it, the same response leaves while the turn is still busy (the test can tell)', async () => {
    const done = { at: 0 };
    const url = await serve(answerThenBusy(150, done), false);
    const { arrived } = firstByteAt(url);
    expect(await arrived).toBeLessThan(done.at);
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
