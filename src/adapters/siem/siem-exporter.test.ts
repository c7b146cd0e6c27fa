import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SiemExporter, type SiemExporterOptions, type SiemOutcome, type SiemStats } from './siem-exporter.js';
import { resolveSiemSinks, type SinkType } from './sink-spec.js';
import {
  eventually,
  type Receiver,
  selfSignedCert,
  startStreamReceiver,
  startUdpReceiver,
  type TlsMaterial,
  unusedPort,
} from './testing/receivers.js';
import { parseRfc5424, sdParams } from './testing/rfc5424-parser.js';

class RecordingStats implements SiemStats {
  readonly counts = new Map<string, number>();
  readonly up = new Map<SinkType, boolean>();
  readonly transitions: string[] = [];
  readonly depth = new Map<SinkType, number>();
  events(t: SinkType, o: SiemOutcome, n: number) {
    this.counts.set(`${t}/${o}`, (this.counts.get(`${t}/${o}`) ?? 0) + n);
  }
  sinkUp(t: SinkType, up: boolean) {
    this.up.set(t, up);
    this.transitions.push(`${t}:${up ? 'up' : 'down'}`);
  }
  buffered(t: SinkType, n: number) {
    this.depth.set(t, n);
  }
  count(t: SinkType, o: SiemOutcome): number {
    return this.counts.get(`${t}/${o}`) ?? 0;
  }
}

const AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

function entry(seq: number, action = 'key.created') {
  return {
    workspaceId: 'ws_aaaaaaaaaaaa',
    seq,
    at: AT + seq,
    actor: 'rk_bbbbbbbbbbbb',
    action,
    targetType: 'key',
    targetId: `key_${String(seq).padStart(12, '0')}`,
    ip: null,
    data: { n: seq },
    prevHash: '0'.repeat(64),
    hash: String(seq % 10).repeat(64),
  };
}

const dirs: string[] = [];
function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keyward-siem-${name}-`));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function exporter(
  list: string,
  opts: SiemExporterOptions = {},
): { siem: SiemExporter; stats: RecordingStats } {
  const stats = new RecordingStats();
  const siem = new SiemExporter(resolveSiemSinks(list), {
    backoffMinMs: 20,
    backoffMaxMs: 100,
    hostname: 'test-host',
    stats,
    ...opts,
  });
  open.push({ close: () => siem.close(300) });
  return { siem, stats };
}

async function receiver(r: Promise<Receiver>): Promise<Receiver> {
  const started = await r;
  open.push(started);
  return started;
}

describe('SIEM export over syslog', () => {
  let tls: TlsMaterial;
  beforeAll(() => {
    tls = selfSignedCert(tempDir('tls'));
  });

  it('sends valid RFC 5424 lines, octet-counted and in order, to a TCP receiver', async () => {
    const rx = await receiver(startStreamReceiver());
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${rx.port}`);
    for (let i = 1; i <= 50; i++) siem.export('audit', entry(i));
    siem.export('alert', {
      id: 'alr_1',
      ruleId: 'rul_1',
      keyId: 'key_1',
      workspaceId: 'ws_a',
      at: AT,
      detail: {},
    });

    const lines = await rx.waitFor(51);
    expect(rx.errors).toEqual([]);
    const parsed = lines.map(parseRfc5424);
    expect(parsed.map((m) => sdParams(m).seq ?? 'alert')).toEqual([
      ...Array.from({ length: 50 }, (_, i) => String(i + 1)),
      'alert',
    ]);
    expect(parsed[0]).toMatchObject({
      version: 1,
      hostname: 'test-host',
      appName: 'keyward',
      msgId: 'key.created',
    });
    expect(parsed[50]).toMatchObject({ facility: 10, severity: 1, msgId: 'alert.fired' });
    await eventually('the sent counter', () => (stats.count('syslog_tcp', 'sent') === 51 ? true : undefined));
    expect(stats.up.get('syslog_tcp')).toBe(true);
  });

  it('sends over TLS to a receiver whose self-signed certificate is given as the CA', async () => {
    const rx = await receiver(startStreamReceiver({ tls }));
    const { siem, stats } = exporter(`syslog+tls://127.0.0.1:${rx.port}?ca=${tls.certPath}`);
    siem.export('audit', entry(1, 'key.revoked'));

    const [raw] = await rx.waitFor(1);
    const m = parseRfc5424(raw as string);
    expect([m.facility, m.severity, m.msgId]).toEqual([13, 4, 'key.revoked']);
    expect(stats.up.get('syslog_tls')).toBe(true);
  });

  it('refuses a TLS receiver it cannot verify: nothing is sent, the sink stays down and says why', async () => {
    const rx = await receiver(startStreamReceiver({ tls }));
    const warnings: string[] = [];
    const logger = { info() {}, warn: (o: object) => warnings.push(JSON.stringify(o)) };
    const { siem, stats } = exporter(`syslog+tls://127.0.0.1:${rx.port}`, { logger });
    siem.export('audit', entry(1));

    await eventually('a certificate warning', () =>
      warnings.some((w) => /certificate/i.test(w)) ? true : undefined,
    );
    expect(rx.messages).toEqual([]);
    expect(stats.up.get('syslog_tls')).toBe(false);
    expect(stats.count('syslog_tls', 'sent')).toBe(0);
  });

  it('sends one message per datagram over UDP', async () => {
    const rx = await receiver(startUdpReceiver());
    const { siem } = exporter(`syslog+udp://127.0.0.1:${rx.port}`);
    for (let i = 1; i <= 5; i++) siem.export('audit', entry(i));

    const lines = await rx.waitFor(5);
    expect(lines.map((l) => sdParams(parseRfc5424(l)).seq).sort()).toEqual(['1', '2', '3', '4', '5']);
  });

  it('buffers while the receiver is down and delivers everything, in order, once it comes up', async () => {
    const port = await unusedPort();
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${port}`);
    for (let i = 1; i <= 20; i++) siem.export('audit', entry(i));
    await eventually('the sink to be reported down', () =>
      stats.up.get('syslog_tcp') === false ? true : undefined,
    );
    expect(siem.buffered).toBe(20);

    const rx = await receiver(startStreamReceiver({ port }));
    const lines = await rx.waitFor(20);
    expect(lines.map((l) => sdParams(parseRfc5424(l)).seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i + 1)),
    );
    await eventually('the sink to be reported up', () => (stats.up.get('syslog_tcp') ? true : undefined));
    expect(stats.count('syslog_tcp', 'dropped_overflow')).toBe(0);
  });

  it('reports a sink type up only while every sink of that type is up', async () => {
    const rx = await receiver(startStreamReceiver());
    const { stats } = exporter(
      `syslog+tcp://127.0.0.1:${rx.port},syslog+tcp://127.0.0.1:${await unusedPort()}`,
    );
    // The initial report, then one per sink: connected, and refused.
    await eventually('both sinks to have reported', () => (stats.transitions.length >= 3 ? true : undefined));
    expect(stats.transitions).toEqual(['syslog_tcp:down', 'syslog_tcp:down', 'syslog_tcp:down']);
  });

  it('reconnects after the receiver drops the connection', async () => {
    const rx1 = await startStreamReceiver();
    const port = rx1.port;
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${port}`);
    siem.export('audit', entry(1));
    await rx1.waitFor(1);
    await rx1.close();
    await eventually('the sink to be reported down', () =>
      stats.up.get('syslog_tcp') === false ? true : undefined,
    );
    siem.export('audit', entry(2));

    const rx2 = await receiver(startStreamReceiver({ port }));
    const [line] = await rx2.waitFor(1);
    expect(sdParams(parseRfc5424(line as string)).seq).toBe('2');
  });

  it('when the buffer is full, drops and counts new events, never blocks, and keeps the oldest for delivery', async () => {
    const port = await unusedPort();
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${port}`, { bufferEvents: 10 });
    for (let i = 1; i <= 1000; i++) siem.export('audit', entry(i));
    expect(siem.buffered).toBe(10);
    expect(stats.count('syslog_tcp', 'dropped_overflow')).toBe(990);
    expect(stats.depth.get('syslog_tcp')).toBe(10);

    const rx = await receiver(startStreamReceiver({ port }));
    const lines = await rx.waitFor(10);
    expect(lines.map((l) => sdParams(parseRfc5424(l)).seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i + 1)),
    );
  });

  it('a receiver that stops reading cannot make export wait: sends stall, the buffer fills, the rest is counted as dropped', async () => {
    const rx = await receiver(startStreamReceiver());
    rx.pauseReading();
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${rx.port}`, {
      bufferEvents: 100,
      writeTimeoutMs: 1_000,
    });
    const big = (i: number) => ({ ...entry(i), data: { blob: 'x'.repeat(16_000) } });
    // 32 MB in rounds, more than the kernel's socket buffers can take.
    for (let round = 0; round < 20; round++) {
      for (let i = 1; i <= 100; i++) siem.export('audit', big(round * 100 + i));
      await new Promise((r) => setTimeout(r, 10));
    }

    const sent = stats.count('syslog_tcp', 'sent');
    expect(sent).toBeLessThan(2_000);
    expect(stats.count('syslog_tcp', 'dropped_overflow')).toBeGreaterThan(0);
    expect(siem.buffered).toBeLessThanOrEqual(100);
    expect(sent + stats.count('syslog_tcp', 'dropped_overflow') + siem.buffered).toBe(2_000);
    // A write that does not drain within writeTimeoutMs breaks the connection: the sink is down, not "up" forever.
    await eventually('the stalled sink to be reported down', () =>
      stats.transitions.join(' ').includes('syslog_tcp:up syslog_tcp:down') ? true : undefined,
    );
  });

  it('a graceful close flushes what is buffered, and counts what it could not send within the bound', async () => {
    const rx = await receiver(startStreamReceiver());
    const up = exporter(`syslog+tcp://127.0.0.1:${rx.port}`);
    for (let i = 1; i <= 200; i++) up.siem.export('audit', entry(i));
    await up.siem.close(2_000);
    expect((await rx.waitFor(200)).length).toBe(200);
    expect(up.stats.count('syslog_tcp', 'dropped_shutdown')).toBe(0);

    const down = exporter(`syslog+tcp://127.0.0.1:${await unusedPort()}`);
    for (let i = 1; i <= 7; i++) down.siem.export('audit', entry(i));
    const started = Date.now();
    await down.siem.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(down.stats.count('syslog_tcp', 'dropped_shutdown')).toBe(7);
    down.siem.export('audit', entry(8));
    expect(down.stats.count('syslog_tcp', 'dropped_shutdown')).toBe(8);
  });
  it('at shutdown counts every event exactly once, as sent or dropped, even one caught mid-write', async () => {
    const rx = await receiver(startStreamReceiver());
    rx.pauseReading();
    const { siem, stats } = exporter(`syslog+tcp://127.0.0.1:${rx.port}`, { bufferEvents: 1_000 });
    // 8 MB: more than the socket buffers take, less than the sink's buffer holds.
    for (let i = 1; i <= 1_000; i++) siem.export('audit', { ...entry(i), data: { blob: 'x'.repeat(8_000) } });
    await eventually('some events to be written', () =>
      stats.count('syslog_tcp', 'sent') > 0 ? true : undefined,
    );
    await siem.close(200);

    const sent = stats.count('syslog_tcp', 'sent');
    const dropped = stats.count('syslog_tcp', 'dropped_shutdown');
    expect(sent + dropped).toBe(1_000);
    expect(dropped).toBeGreaterThan(0);
    expect(stats.count('syslog_tcp', 'dropped_overflow')).toBe(0);
  });
});

describe('SIEM export to a JSON-lines file', () => {
  it('appends one JSON object a line, to a file only its owner can read', async () => {
    const dir = tempDir('file');
    const path = join(dir, 'siem.jsonl');
    const { siem, stats } = exporter(`file://${path}`);
    siem.export('audit', entry(1, 'key.revoked'));
    siem.export('usage', {
      at: AT,
      workspaceId: 'ws_a',
      keyspaceId: 'ks_a',
      keyId: 'key_a',
      code: 'REVOKED',
      ip: '198.51.100.7',
      origin: null,
      resource: null,
      latencyUs: 40,
    });
    await eventually('2 lines written', () => (stats.count('file', 'sent') === 2 ? true : undefined));

    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    const [audit, usage] = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(audit).toMatchObject({
      kind: 'audit',
      type: 'key.revoked',
      severity: 'warning',
      data: entry(1, 'key.revoked'),
    });
    expect(usage).toMatchObject({
      kind: 'usage',
      type: 'key.verified',
      severity: 'notice',
      data: { code: 'REVOKED' },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);

    await siem.close(1_000);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
  });

  it('sends every event to every sink', async () => {
    const dir = tempDir('fanout');
    const rx = await receiver(startStreamReceiver());
    const udp = await receiver(startUdpReceiver());
    const { siem } = exporter(
      `syslog+tcp://127.0.0.1:${rx.port},syslog+udp://127.0.0.1:${udp.port},file://${dir}/a.jsonl`,
    );
    for (let i = 1; i <= 3; i++) siem.export('audit', entry(i));
    await rx.waitFor(3);
    await udp.waitFor(3);
    await eventually('3 file lines', () =>
      statSync(join(dir, 'a.jsonl'), { throwIfNoEntry: false })?.size &&
      readFileSync(join(dir, 'a.jsonl'), 'utf8').split('\n').length === 4
        ? true
        : undefined,
    );
  });
});
