import { describe, expect, it } from 'vitest';
import { generateKey, REDACTED, scrubKeys } from '../../core/keys/index.js';
import type { SiemKind } from '../../core/siem/index.js';
import { escapeParamValue, formatSyslog, octetCounted } from './rfc5424.js';
import { MAX_DATA_BYTES, recordJson, toSiemRecord } from './siem-record.js';
import { parseRfc5424, sdParams } from './testing/rfc5424-parser.js';

const AT = Date.UTC(2025, 2, 14, 9, 26, 53, 589);
const origin = { hostname: 'node-1', procId: '4242' };

const auditEntry = {
  workspaceId: 'ws_aaaaaaaaaaaa',
  seq: 7,
  at: AT,
  actor: 'rk_bbbbbbbbbbbb',
  action: 'key.revoked',
  targetType: 'key',
  targetId: 'key_cccccccccccc',
  ip: '203.0.113.9',
  data: { reason: 'leaked in "CI" log \\ see ]ticket[' },
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
};

function line(kind: SiemKind, payload: object): string {
  const record = toSiemRecord(kind, payload, AT);
  return formatSyslog(record, origin, recordJson(record, origin.hostname));
}

describe('RFC 5424 lines', () => {
  it('renders an audit entry as a valid line: version 1, UTC timestamp with ms, app keyward, MSGID the action', () => {
    const m = parseRfc5424(line('audit', auditEntry));
    expect(m).toMatchObject({
      version: 1,
      timestamp: '2025-03-14T09:26:53.589Z',
      hostname: 'node-1',
      appName: 'keyward',
      procId: '4242',
      msgId: 'key.revoked',
    });
    expect(sdParams(m)).toEqual({
      kind: 'audit',
      workspaceId: 'ws_aaaaaaaaaaaa',
      action: 'key.revoked',
      actor: 'rk_bbbbbbbbbbbb',
      targetType: 'key',
      targetId: 'key_cccccccccccc',
      ip: '203.0.113.9',
      seq: '7',
      hash: 'b'.repeat(64),
    });
    expect(JSON.parse(m.msg)).toEqual({
      time: '2025-03-14T09:26:53.589Z',
      source: 'keyward',
      host: 'node-1',
      kind: 'audit',
      type: 'key.revoked',
      severity: 'warning',
      workspaceId: 'ws_aaaaaaaaaaaa',
      data: auditEntry,
    });
  });

  it.each([
    ['audit', { ...auditEntry, action: 'key.created' }, 13, 5],
    ['audit', auditEntry, 13, 4],
    ['audit', { ...auditEntry, action: 'incident.created' }, 13, 4],
    [
      'revocation',
      { workspaceId: 'ws_1', keyId: 'key_1', incidentId: 'inc_1', actor: 'rk_1', at: AT },
      13,
      4,
    ],
    [
      'alert',
      { id: 'alr_1', ruleId: 'rule_1', keyId: 'key_1', workspaceId: 'ws_1', at: AT, detail: {} },
      10,
      1,
    ],
    ['usage', { at: AT, workspaceId: 'ws_1', keyId: 'key_1', code: 'VALID', latencyUs: 12 }, 10, 6],
    ['usage', { at: AT, workspaceId: 'ws_1', keyId: null, code: 'NOT_FOUND', latencyUs: 12 }, 10, 5],
  ] as const)('gives %s events their facility and severity (%#)', (kind, payload, facility, severity) => {
    const m = parseRfc5424(line(kind, payload));
    expect([m.facility, m.severity]).toEqual([facility, severity]);
  });

  it('names the alert, its rule, key and type in structured data', () => {
    const alert = {
      id: 'alr_1',
      ruleId: 'rul_1',
      keyId: 'key_1',
      workspaceId: 'ws_1',
      subject: 'key_1',
      at: AT,
      detail: { type: 'new_ip', ip: '203.0.113.7' },
    };
    const m = parseRfc5424(line('alert', alert));
    expect(sdParams(m)).toEqual({
      kind: 'alert',
      workspaceId: 'ws_1',
      alertId: 'alr_1',
      ruleId: 'rul_1',
      keyId: 'key_1',
      alertType: 'new_ip',
    });
    expect(JSON.parse(m.msg)).toMatchObject({
      kind: 'alert',
      type: 'alert.fired',
      severity: 'alert',
      data: alert,
    });
  });

  it('escapes ", \\ and ] in structured-data values, and the parser reads them back unchanged', () => {
    expect(escapeParamValue('a"b\\c]d[e')).toBe('a\\"b\\\\c\\]d[e');
    const nasty = 'key_"] [evil@1 x="y"] \\';
    const raw = line('audit', { ...auditEntry, targetId: nasty });
    expect(raw).toContain('targetId="key_\\"\\] [evil@1 x=\\"y\\"\\] \\\\"');
    const m = parseRfc5424(raw);
    expect(m.sd).toHaveLength(1);
    expect(sdParams(m).targetId).toBe(nasty);
  });

  it('keeps the message plain ASCII (non-ASCII escaped in the JSON), so it needs no BOM', () => {
    const raw = line('audit', { ...auditEntry, data: { name: 'clé — 鍵 🔑' } });
    expect(/^[\x20-\x7e]*$/.test(raw)).toBe(true);
    expect(JSON.parse(parseRfc5424(raw).msg).data.data).toEqual({ name: 'clé — 鍵 🔑' });
  });

  it('replaces header fields that are not printable ASCII with the nil value, and bounds MSGID to 32', () => {
    const record = toSiemRecord('audit', { ...auditEntry, action: `x.${'y'.repeat(40)}` }, AT);
    const m = parseRfc5424(formatSyslog(record, { hostname: 'höst name', procId: '' }, '{}'));
    expect(m.hostname).toBe('hstname');
    expect(m.procId).toBe('-');
    expect(m.msgId).toHaveLength(32);
  });

  it('replaces an oversized data object by a marker, so a line always fits one datagram', () => {
    const big = { ...auditEntry, data: { meta: 'x'.repeat(MAX_DATA_BYTES + 1) } };
    const raw = line('audit', big);
    expect(raw.length).toBeLessThan(MAX_DATA_BYTES);
    expect(JSON.parse(parseRfc5424(raw).msg).data).toEqual({ truncated: true, bytes: expect.any(Number) });
  });

  it('frames with RFC 6587 octet counting, the length in bytes', () => {
    expect(octetCounted('<13>1 - - - - - - é')).toBe('20 <13>1 - - - - - - é');
  });
});

describe('what is exported never holds key material', () => {
  const fixedRandom = (n: number) => Buffer.alloc(n, 7);

  it('redacts a real Keyward key pasted into free-form fields, whatever surrounds it', () => {
    const { key } = generateKey('sk_live', fixedRandom);
    const scrubbed = scrubKeys({
      reason: `leaked: ${key}, see log`,
      nested: [{ note: `x${key}` }],
      [key]: 1,
    });
    expect(JSON.stringify(scrubbed)).not.toContain(key.slice(8));
    expect(scrubbed).toEqual({
      reason: `leaked: ${REDACTED}, see log`,
      nested: [{ note: `x${REDACTED}` }],
      [REDACTED]: 1,
    });
  });

  it('leaves look-alikes with a wrong checksum, hashes and ids alone', () => {
    const { key } = generateKey('kw', fixedRandom);
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    const values = { wrong, hash: 'f'.repeat(64), id: 'key_cccccccccccc', start: key.slice(0, 7) };
    expect(scrubKeys(values)).toEqual(values);
  });

  it('redacts webhook signing secrets', () => {
    expect(scrubKeys({ s: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })).toEqual({ s: REDACTED });
  });

  it('exports only the listed fields of a usage event', () => {
    const record = toSiemRecord(
      'usage',
      { at: AT, workspaceId: 'ws_1', keyId: 'key_1', code: 'VALID', latencyUs: 3, key: 'kw_plaintext' },
      AT,
    );
    expect(record.data).toEqual({ at: AT, workspaceId: 'ws_1', keyId: 'key_1', code: 'VALID', latencyUs: 3 });
  });
});
