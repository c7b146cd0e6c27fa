import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startStreamReceiver } from '../../src/adapters/siem/testing/receivers.js';
import {
  parseRfc5424,
  type SyslogMessage,
  sdParams,
} from '../../src/adapters/siem/testing/rfc5424-parser.js';
import {
  ensureBuilt,
  freePort,
  runCli,
  type ServerProcess,
  startServer,
  waitFor,
} from './support/processes.js';

/**
 * A real server process exporting to a real TCP syslog receiver and a JSON-lines file: what a
 * SOC sees when a key is created and revoked, and that no key ever shows up there.
 */
describe('SIEM export from a running server', () => {
  let dataDir: string;
  let receiver: Receiver;
  let server: ServerProcess;
  let jsonl: string;
  const plaintexts: string[] = [];
  let keyId: string;
  let bulkKeyIds: string[] = [];
  let incidentId: string;
  let ruleId: string;
  let metrics = '';
  let exitCode: number | null;

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.rootKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  const syslog = (): SyslogMessage[] => receiver.messages.map(parseRfc5424);
  const revokedLine = () =>
    syslog().find((m) => m.msgId === 'key.revoked' && sdParams(m).targetId === keyId) ?? undefined;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-siem-'));
    jsonl = join(dataDir, 'siem.jsonl');
    receiver = await startStreamReceiver();
    server = await startServer(join(dataDir, 'data'), {
      env: {
        KEYWARD_SIEM: `syslog+tcp://127.0.0.1:${receiver.port}, file://${jsonl}`,
        KEYWARD_SIEM_USAGE: '1',
      },
    });

    const ks = await api('POST', '/v1/keyspaces', { name: 'siem', prefix: 'sk_siem' });
    const key = await api('POST', `/v1/keyspaces/${ks.id}/keys`, {
      ownerId: 'user_1',
      meta: { note: 'pasted by mistake' },
    });
    keyId = key.id;
    plaintexts.push(key.key, server.rootKey);
    const rule = await api('POST', '/v1/alert-rules', {
      name: 'first use',
      keyId,
      condition: { type: 'threshold', metric: 'verifications', count: 1, windowSeconds: 60 },
      actions: ['notify'],
    });
    ruleId = rule.id;
    await api('POST', '/v1/keys/verify', { key: key.key, ip: '198.51.100.4' });
    // A careless operator pastes the key into the revocation reason: it must not be exported.
    await api('POST', `/v1/keys/${keyId}/revoke`, { reason: `leaked: ${key.key}` });
    await api('POST', '/v1/keys/verify', { key: key.key, ip: '198.51.100.4' });

    const bulk = [
      await api('POST', `/v1/keyspaces/${ks.id}/keys`, { ownerId: 'user_bulk' }),
      await api('POST', `/v1/keyspaces/${ks.id}/keys`, { ownerId: 'user_bulk' }),
    ];
    bulkKeyIds = bulk.map((k) => k.id).sort();
    plaintexts.push(...bulk.map((k) => k.key));
    incidentId = (
      await api('POST', '/v1/keys/revoke', { filter: { ownerId: 'user_bulk' }, reason: 'laptop stolen' })
    ).incidentId;

    await waitFor('the key.revoked line at the receiver', () => revokedLine());
    await waitFor('the alert at the receiver', () => syslog().find((m) => m.msgId === 'alert.fired'));
    await waitFor('a key.revoked line per key of the bulk revocation', () =>
      syslog().filter((m) => sdParams(m).kind === 'revocation').length >= 2 ? true : undefined,
    );
    await waitFor('both verifications as usage events', () =>
      syslog().filter((m) => m.msgId === 'key.verified').length >= 2 ? true : undefined,
    );
    await waitFor('the key.revoked line in the file', () =>
      readFileSync(jsonl, 'utf8').includes('"type":"key.revoked"') ? true : undefined,
    );
    metrics = await (await fetch(`${server.url}/metrics`)).text();
    // Still in the usage batch when SIGTERM arrives: the shutdown flushes it, then the SIEM buffers.
    await api('POST', '/v1/keys/verify', { key: key.key, ip: '198.51.100.99' });
    exitCode = await server.stop();
  });

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends valid RFC 5424 lines, one per audit entry, the revocation as a warning', () => {
    expect(receiver.errors).toEqual([]);
    const actions = syslog().map((m) => m.msgId);
    expect(actions).toEqual(expect.arrayContaining(['keyspace.created', 'key.created', 'key.revoked']));
    const revoked = revokedLine();
    expect(revoked).toMatchObject({ version: 1, appName: 'keyward', facility: 13, severity: 4 });
    expect(sdParams(revoked as SyslogMessage)).toMatchObject({
      kind: 'audit',
      targetType: 'key',
      targetId: keyId,
    });
    expect(JSON.parse((revoked as SyslogMessage).msg).data.data.reason).toBe('leaked: [redacted]');
  });

  it('sends a bulk revocation as its incident entry plus one key.revoked line per key', () => {
    const incident = syslog().find((m) => m.msgId === 'incident.created');
    expect(incident).toMatchObject({ facility: 13, severity: 4 });
    expect(sdParams(incident as SyslogMessage).targetId).toBe(incidentId);
    const perKey = syslog().filter((m) => sdParams(m).kind === 'revocation');
    expect(perKey.map((m) => sdParams(m).keyId).sort()).toEqual(bulkKeyIds);
    for (const m of perKey) {
      expect(m).toMatchObject({ msgId: 'key.revoked', facility: 13, severity: 4 });
      expect(sdParams(m).incidentId).toBe(incidentId);
      expect(JSON.parse(m.msg).data.reason).toBe('laptop stolen');
    }
  });

  it('sends a fired alert as a security alert naming the rule and the key', () => {
    const alert = syslog().find((m) => m.msgId === 'alert.fired') as SyslogMessage;
    expect([alert.facility, alert.severity]).toEqual([10, 1]);
    expect(sdParams(alert)).toMatchObject({ kind: 'alert', ruleId, keyId, alertType: 'threshold' });
  });

  it('with KEYWARD_SIEM_USAGE=1, exports each verification with its outcome, and without the key', () => {
    const usage = syslog().filter((m) => m.msgId === 'key.verified');
    expect(usage.slice(0, 2).map((m) => [sdParams(m).code, sdParams(m).keyId, sdParams(m).ip])).toEqual([
      ['VALID', keyId, '198.51.100.4'],
      ['REVOKED', keyId, '198.51.100.4'],
    ]);
    expect(usage.slice(0, 2).map((m) => [m.facility, m.severity])).toEqual([
      [10, 6],
      [10, 5],
    ]);
    expect(Object.keys(JSON.parse((usage[0] as SyslogMessage).msg).data).sort()).toEqual(
      ['at', 'code', 'ip', 'keyId', 'keyspaceId', 'latencyUs', 'origin', 'resource', 'workspaceId'].sort(),
    );
  });

  it('writes the same audit entries to the JSON-lines file', () => {
    const lines = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const audit = lines.filter((l) => l.kind === 'audit');
    expect(audit.map((l) => l.type)).toEqual(
      syslog()
        .filter((m) => sdParams(m).kind === 'audit')
        .map((m) => m.msgId),
    );
    expect(audit.find((l) => l.type === 'key.revoked')).toMatchObject({
      severity: 'warning',
      data: { targetId: keyId },
    });
  });

  it('puts no key material in any exported line', () => {
    const everything = [...receiver.messages, readFileSync(jsonl, 'utf8')].join('\n');
    for (const secret of plaintexts) expect(everything).not.toContain(secret);
  });

  it('reports the sinks in /metrics by type, without addresses', () => {
    expect(metrics).toMatch(/^keyward_siem_events_total\{sink_type="syslog_tcp",outcome="sent"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^keyward_siem_events_total\{sink_type="file",outcome="sent"\} [1-9]\d*$/m);
    expect(metrics).toMatch(
      /^keyward_siem_events_total\{sink_type="syslog_tcp",outcome="dropped_overflow"\} 0$/m,
    );
    expect(metrics).toMatch(/^keyward_siem_sink_up\{sink_type="syslog_tcp"\} 1$/m);
    expect(metrics).not.toContain(String(receiver.port));
  });

  it('shuts down cleanly, flushing the last usage batch to the sinks first', async () => {
    expect(exitCode).toBe(0);
    await waitFor('the verification made just before SIGTERM', () =>
      syslog().some((m) => m.msgId === 'key.verified' && sdParams(m).ip === '198.51.100.99')
        ? true
        : undefined,
    );
    expect(readFileSync(jsonl, 'utf8')).toContain('198.51.100.99');
  });
});

describe('a bad KEYWARD_SIEM', () => {
  it.each([
    [
      { KEYWARD_SIEM: 'syslog://siem.example.com:514' },
      [],
      /KEYWARD_SIEM \(--siem\) sink "syslog:\/\/siem.example.com:514": unknown scheme/,
    ],
    [
      {},
      ['--siem', 'syslog+tcp://siem.example.com'],
      /sink "syslog\+tcp:\/\/siem.example.com": needs a port/,
    ],
    [{ KEYWARD_SIEM: 'syslog+tls://h:6514?insecure=1' }, [], /cannot be turned off/],
  ])('stops the server before it starts, saying which sink is wrong (%#)', async (env, flags, message) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-e2e-siem-bad-'));
    try {
      const port = await freePort();
      const res = await runCli(['serve', '--data', dataDir, '--port', String(port), ...flags], env);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(message);
      expect(res.stdout).not.toContain('root key:');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
