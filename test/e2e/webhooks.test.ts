import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePort, type ServerProcess, startServer, waitFor } from './support/processes.js';
import { type ReceiverProcess, startReceiver } from './support/receiver-process.js';

/** Fast retries for real processes: 0, 300 ms, 300 ms, … (production waits hours). */
const FAST = {
  KEYWARD_WEBHOOK_POLL_MS: '100',
  KEYWARD_WEBHOOK_RETRY_SCHEDULE_MS: '0,300,300,300,300,300',
  KEYWARD_LOG_LEVEL: 'debug',
};

async function api(server: { url: string }, rootKey: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${rootKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhooks end to end', () => {
  let dataDir: string;
  let server: ServerProcess;
  let receiver: ReceiverProcess;
  /** Everything that must never appear in a body, a log line, an audit entry or a metric. */
  const secrets: string[] = [];

  const register = async (path: string, events: string[], failFirst = 0) => {
    const res = await api(server, server.rootKey, 'POST', '/v1/webhooks', {
      url: receiver.url(path),
      events,
    });
    expect(res.status).toBe(201);
    secrets.push(res.body.secret, res.body.secret.slice('whsec_'.length));
    await receiver.expect(path, res.body.secret, failFirst);
    return res.body as { id: string; secret: string };
  };
  const createKey = async (keyspaceId: string) => {
    const res = await api(server, server.rootKey, 'POST', `/v1/keyspaces/${keyspaceId}/keys`, {
      ownerId: 'u1',
    });
    expect(res.status).toBe(201);
    secrets.push(res.body.key);
    return res.body as { id: string; key: string };
  };
  let keyspaceId: string;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-webhooks-'));
    receiver = await startReceiver();
    server = await startServer(dataDir, { env: FAST });
    secrets.push(server.rootKey);
    const ks = await api(server, server.rootKey, 'POST', '/v1/keyspaces', { name: 'webhooks-e2e' });
    keyspaceId = ks.body.id;
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a real receiver verifies every delivery with the standardwebhooks package', async () => {
    await register('/all', ['*']);
    const key = await createKey(keyspaceId);
    await api(server, server.rootKey, 'POST', `/v1/keys/${key.id}/revoke`, { reason: 'e2e' });

    const got = await waitFor('two deliveries', async () => {
      const r = await receiver.received('/all');
      return r.length >= 2 ? r : undefined;
    });

    expect(got.map((r) => [r.verified, r.status])).toEqual([
      [true, 204],
      [true, 204],
    ]);
    expect(got.map((r) => JSON.parse(r.body).type).sort()).toEqual(['key.created', 'key.revoked']);
    expect(JSON.parse(got.find((r) => r.body.includes('key.revoked'))?.body ?? '{}').data).toMatchObject({
      keyId: key.id,
      reason: 'e2e',
    });
  });

  it('a receiver that fails twice then succeeds gets the event exactly once more', async () => {
    const hook = await register('/flaky', ['key.created'], 2);
    await createKey(keyspaceId);

    await waitFor('a successful delivery', async () =>
      (await receiver.received('/flaky')).some((r) => r.status === 204) ? true : undefined,
    );
    await waitFor('the delivery recorded as delivered', async () => {
      const log = await api(server, server.rootKey, 'GET', `/v1/webhooks/${hook.id}/deliveries`);
      return log.body.items[0]?.status === 'delivered' ? true : undefined;
    });
    // The schedule has attempts left; nothing more may come after the success.
    await sleep(1_500);

    const got = await receiver.received('/flaky');
    expect(got.map((r) => r.status)).toEqual([500, 500, 204]);
    expect(new Set(got.map((r) => r.id)).size).toBe(1);
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    expect(got[2]?.verified).toBe(true);
    const log = await api(server, server.rootKey, 'GET', `/v1/webhooks/${hook.id}/deliveries`);
    expect(log.body.items).toEqual([
      expect.objectContaining({ id: got[0]?.id, status: 'delivered', attempts: 3, lastResponseCode: 204 }),
    ]);
  });

  it('puts no key, root key or signing secret in a body, log line, audit entry or metric', async () => {
    const audit = await api(server, server.rootKey, 'GET', '/v1/audit?limit=100');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const bodies = (await receiver.received()).map((r) => r.body).join('\n');
    const places = {
      bodies,
      logs: server.stdout().replace(/^root key: .*$/m, '') + server.stderr(),
      audit: JSON.stringify(audit.body),
      metrics,
    };

    expect(metrics).toMatch(/^keyward_webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
    expect(metrics).toMatch(/^keyward_webhook_deliveries_total\{outcome="retried"\} 2$/m);
    expect(places.logs).toContain('webhook: delivered');
    for (const [where, text] of Object.entries(places))
      for (const secret of secrets) expect(text.includes(secret), `${where} holds a secret`).toBe(false);
  });

  it('a delivery pending across a server restart is delivered after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-e2e-webhooks-restart-'));
    const port = await freePort();
    const slowRetries = {
      ...FAST,
      KEYWARD_WEBHOOK_RETRY_SCHEDULE_MS: '0,1000,1000,1000,1000,1000,1000,1000',
    };
    let first: ServerProcess | undefined = await startServer(dir, { env: slowRetries });
    let second: ServerProcess | undefined;
    let late: ReceiverProcess | undefined;
    try {
      const rootKey = first.rootKey;
      const hook = await api(first, rootKey, 'POST', '/v1/webhooks', {
        url: `http://127.0.0.1:${port}/late`,
        events: ['key.created'],
      });
      const ks = await api(first, rootKey, 'POST', '/v1/keyspaces', { name: 'restart' });
      await api(first, rootKey, 'POST', `/v1/keyspaces/${ks.body.id}/keys`, {});
      // Nobody listens yet: the first attempt fails and the delivery waits for its retry.
      const pending = await waitFor('a failed first attempt', async () => {
        const items = (await api(first ?? server, rootKey, 'GET', `/v1/webhooks/${hook.body.id}/deliveries`))
          .body.items;
        return items[0]?.attempts >= 1 ? items[0] : undefined;
      });
      expect(pending).toMatchObject({ status: 'pending', lastError: 'ECONNREFUSED' });
      expect(await first.stop()).toBe(0);
      first = undefined;

      late = await startReceiver(port);
      await late.expect('/late', hook.body.secret);
      second = await startServer(dir, { env: slowRetries, expectRootKey: false });

      const got = await waitFor('the delivery after the restart', async () => {
        const r = await late?.received('/late');
        return r && r.length > 0 ? r : undefined;
      });
      expect(got).toEqual([expect.objectContaining({ id: pending.id, verified: true, status: 204 })]);
      // The receiver answers before the server records the answer: wait for the log to say so.
      const after = await waitFor('the delivery logged as delivered', async () => {
        const res = await api(second ?? server, rootKey, 'GET', `/v1/webhooks/${hook.body.id}/deliveries`);
        return res.body.items[0]?.status === 'delivered' ? res.body.items[0] : undefined;
      });
      expect(after).toMatchObject({
        id: pending.id,
        status: 'delivered',
        lastResponseCode: 204,
      });
    } finally {
      await first?.stop();
      await second?.stop();
      await late?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
