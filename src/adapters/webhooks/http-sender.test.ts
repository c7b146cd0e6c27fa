import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpWebhookSender } from './http-sender.js';

interface Received {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('HTTP webhook sender', () => {
  let server: Server;
  let url: string;
  let received: Received[];
  let respond: (res: ServerResponse) => void;

  beforeEach(async () => {
    received = [];
    respond = (res) => res.writeHead(204).end();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body });
        respond(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const request = (over: Partial<Parameters<HttpWebhookSender['send']>[0]> = {}) => ({
    url,
    headers: { 'content-type': 'application/json', 'webhook-id': 'whd_1' },
    body: '{"type":"key.created","data":{"name":"ü"}}',
    timeoutMs: 2_000,
    ...over,
  });

  it('POSTs the body with the headers and answers the status', async () => {
    expect(await new HttpWebhookSender({ denyPrivate: false }).send(request())).toEqual({ status: 204 });

    expect(received).toEqual([
      {
        method: 'POST',
        headers: expect.objectContaining({
          'webhook-id': 'whd_1',
          'content-length': String(Buffer.byteLength(request().body)),
        }),
        body: '{"type":"key.created","data":{"name":"ü"}}',
      },
    ]);
  });

  it('answers a non-2xx status as it is, and does not follow a redirect', async () => {
    respond = (res) => res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end();

    expect(await new HttpWebhookSender({ denyPrivate: false }).send(request())).toEqual({ status: 307 });
    expect(received).toHaveLength(1);
  });

  it('answers a timeout when the receiver does not answer in time', async () => {
    respond = () => undefined;

    expect(await new HttpWebhookSender({ denyPrivate: false }).send(request({ timeoutMs: 200 }))).toEqual({
      error: 'timeout',
    });
  });

  it('answers the connection error when nobody listens', async () => {
    const closed = url.replace(/:\d+\//, ':1/');

    expect(await new HttpWebhookSender({ denyPrivate: false }).send(request({ url: closed }))).toEqual({
      error: 'ECONNREFUSED',
    });
  });

  it('with denyPrivate, refuses loopback literals and names that resolve to loopback, sending nothing', async () => {
    const sender = new HttpWebhookSender({ denyPrivate: true });
    const port = new URL(url).port;

    expect(await sender.send(request())).toEqual({ error: 'address not allowed' });
    expect(await sender.send(request({ url: `http://localhost:${port}/hook` }))).toEqual({
      error: 'address not allowed',
    });
    expect(await sender.send(request({ url: `http://[::ffff:127.0.0.1]:${port}/hook` }))).toEqual({
      error: 'address not allowed',
    });
    expect(received).toEqual([]);
  });

  it('answers aborted when the node shuts down mid-attempt', async () => {
    respond = () => undefined;
    const abort = new AbortController();
    const sending = new HttpWebhookSender({ denyPrivate: false }).send(request({ signal: abort.signal }));
    setTimeout(() => abort.abort(), 50);

    expect(await sending).toEqual({ error: 'aborted' });
  });
});
