// A webhook receiver as a user would write one: a separate process that verifies every delivery
// with the `standardwebhooks` package. Per path it holds the endpoint's secret and may fail the
// first N requests. Control: PUT /control {path, secret, failFirst}; GET /control lists what came.
// Prints `listening PORT` once ready. PORT=0 picks a free port.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const endpoints = new Map();
const received = [];

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const server = createServer(async (req, res) => {
  const body = await readBody(req);
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  if (path === '/control' && req.method === 'PUT') {
    const { path: target, secret, failFirst } = JSON.parse(body);
    endpoints.set(target, { secret, failFirst: failFirst ?? 0 });
    res.writeHead(204).end();
    return;
  }
  if (path === '/control' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
    return;
  }
  const endpoint = endpoints.get(path);
  const entry = {
    path,
    id: req.headers['webhook-id'] ?? null,
    timestamp: req.headers['webhook-timestamp'] ?? null,
    body,
    verified: false,
    status: 0,
  };
  if (endpoint && endpoint.failFirst > 0) {
    endpoint.failFirst -= 1;
    entry.status = 500;
  } else if (endpoint) {
    try {
      new Webhook(endpoint.secret).verify(body, req.headers);
      entry.verified = true;
      entry.status = 204;
    } catch {
      entry.status = 401;
    }
  } else {
    entry.status = 404;
  }
  received.push(entry);
  res.writeHead(entry.status).end();
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
