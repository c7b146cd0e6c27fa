import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSiemSinks, resolveSiemSinks, SiemConfigError } from './sink-spec.js';

describe('KEYWARD_SIEM sink list', () => {
  it('parses every sink type, trimming spaces and ignoring empty items', () => {
    expect(
      parseSiemSinks(
        ' syslog+tcp://siem.example.com:514, syslog+tls://[::1]:6514?ca=/etc/ca.pem,syslog+udp://10.0.0.1:514,file:///var/log/keyward%20siem.jsonl,',
      ),
    ).toEqual([
      { type: 'syslog_tcp', url: 'syslog+tcp://siem.example.com:514', host: 'siem.example.com', port: 514 },
      {
        type: 'syslog_tls',
        url: 'syslog+tls://[::1]:6514?ca=/etc/ca.pem',
        host: '::1',
        port: 6514,
        caPath: '/etc/ca.pem',
      },
      { type: 'syslog_udp', url: 'syslog+udp://10.0.0.1:514', host: '10.0.0.1', port: 514 },
      { type: 'file', url: 'file:///var/log/keyward%20siem.jsonl', path: '/var/log/keyward siem.jsonl' },
    ]);
  });

  it('is empty when unset or blank', () => {
    expect(parseSiemSinks(undefined)).toEqual([]);
    expect(parseSiemSinks(' , ')).toEqual([]);
  });

  it('gives TLS sinks the KEYWARD_SIEM_TLS_CA default, and lets ?ca= win', () => {
    const [a, b] = parseSiemSinks('syslog+tls://a:1,syslog+tls://b:1?ca=/own.pem', { tlsCa: '/default.pem' });
    expect(a).toMatchObject({ caPath: '/default.pem' });
    expect(b).toMatchObject({ caPath: '/own.pem' });
  });

  it.each([
    ['syslog+tcp://host', /needs a port/],
    ['syslog+udp://host:0', /needs a port/],
    ['syslog+tcp://host:99999', /not a URL/],
    ['syslog://host:514', /unknown scheme "syslog:"/],
    ['https://siem.example.com', /unknown scheme/],
    ['siem.example.com:514', /unknown scheme|not a URL/],
    ['syslog+tcp://user:pw@host:514', /credentials are not accepted/],
    ['syslog+tcp://host:514/path', /takes no path/],
    ['syslog+tcp://host:514?ca=/x.pem', /takes no options/],
    ['syslog+tls://host:6514?insecure=1', /unknown option "insecure".*cannot be turned off/],
    ['syslog+tls://host:6514?ca=relative.pem', /absolute path/],
    ['file://remote/x.jsonl', /only local files/],
    ['file:///var/log/', /absolute file path/],
    ['syslog+tcp://h:1,syslog+tcp://h:1', /listed twice/],
  ])('refuses %s with a message saying why', (list, why) => {
    const parse = () => parseSiemSinks(list);
    expect(parse).toThrow(SiemConfigError);
    expect(parse).toThrow(/^invalid configuration: KEYWARD_SIEM \(--siem\) sink "/);
    expect(parse).toThrow(why);
  });

  it('checks before start that a private CA is a readable PEM certificate and a file sink has a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-siem-spec-'));
    writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => resolveSiemSinks(`syslog+tls://h:1?ca=${dir}/missing.pem`)).toThrow(/cannot read CA file/);
    expect(() => resolveSiemSinks(`syslog+tls://h:1?ca=${dir}/not-a-cert.pem`)).toThrow(
      /holds no PEM certificate/,
    );
    expect(() => resolveSiemSinks(`file://${dir}/nope/siem.jsonl`)).toThrow(/directory .* does not exist/);
    expect(() => resolveSiemSinks(`file://${dir}`)).toThrow(/is a directory/);
    const [tls, file] = resolveSiemSinks(`syslog+tls://h:1?ca=${dir}/ca.pem,file://${dir}/siem.jsonl`);
    expect(tls).toMatchObject({ ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(file).toMatchObject({ type: 'file', path: `${dir}/siem.jsonl` });
    rmSync(dir, { recursive: true, force: true });
  });
});
