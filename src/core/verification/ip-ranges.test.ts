import { describe, expect, it } from 'vitest';
import { KeywardError } from '../errors/index.js';
import { inRanges, parseAddress, parseRange } from './ip-ranges.js';

/** The address as the contract's 128-bit integer, built from 16-bit groups. */
function groups(...g: number[]): bigint {
  expect(g).toHaveLength(8);
  return g.reduce((n, x) => (n << 16n) | BigInt(x), 0n);
}

/** Whether `address` falls in any of `ranges`; both given as text. */
function matches(address: string, ...ranges: string[]): boolean {
  const parsed = parseAddress(address);
  if (parsed === null) throw new Error(`${address} did not parse`);
  return inRanges(parsed, ranges.map(parseRange));
}

describe('parseAddress', () => {
  it('maps IPv4 into ::ffff:0:0/96', () => {
    expect(parseAddress('1.2.3.4')).toBe(groups(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304));
    expect(parseAddress('0.0.0.0')).toBe(groups(0, 0, 0, 0, 0, 0xffff, 0, 0));
    expect(parseAddress('255.255.255.255')).toBe(groups(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff));
  });

  it('parses a full IPv6 address in any case', () => {
    const expected = groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    expect(parseAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(expected);
    expect(parseAddress('2001:DB8:0:0:0:0:0:1')).toBe(expected);
  });

  it('expands :: wherever it stands', () => {
    expect(parseAddress('::')).toBe(0n);
    expect(parseAddress('::1')).toBe(1n);
    expect(parseAddress('1::')).toBe(groups(1, 0, 0, 0, 0, 0, 0, 0));
    expect(parseAddress('2001:db8::1')).toBe(groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    expect(parseAddress('1:2:3::6:7:8')).toBe(groups(1, 2, 3, 0, 0, 6, 7, 8));
    expect(parseAddress('1:2:3:4:5:6:7::')).toBe(groups(1, 2, 3, 4, 5, 6, 7, 0));
    expect(parseAddress('::2:3:4:5:6:7:8')).toBe(groups(0, 2, 3, 4, 5, 6, 7, 8));
  });

  it('ignores a zone id', () => {
    expect(parseAddress('fe80::1%eth0')).toBe(groups(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    expect(parseAddress('fe80::1%1')).toBe(parseAddress('fe80::1'));
  });

  it('reads an embedded IPv4 tail', () => {
    expect(parseAddress('::ffff:1.2.3.4')).toBe(parseAddress('1.2.3.4'));
    expect(parseAddress('::FFFF:1.2.3.4')).toBe(parseAddress('::ffff:102:304'));
    expect(parseAddress('64:ff9b::192.0.2.33')).toBe(groups(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221));
    expect(parseAddress('1:2:3:4:5:6:1.2.3.4')).toBe(groups(1, 2, 3, 4, 5, 6, 0x0102, 0x0304));
    expect(parseAddress('::ffff:1.2.3.4%eth0')).toBe(parseAddress('1.2.3.4'));
  });

  it('returns null for anything that is not an address', () => {
    const bad = [
      '',
      ' ',
      'garbage',
      'localhost',
      '01.2.3.4',
      '1.2.3.04',
      '00.0.0.0',
      '256.0.0.1',
      '1.2.3.256',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.',
      '.1.2.3',
      '1..2.3',
      '1.2.3.-4',
      '+1.2.3.4',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '0x1.2.3.4',
      '１.2.3.4',
      '1.2.3.4/32',
      '1.2.3.4:80',
      '1.2.3.4%eth0',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '1::2::3',
      ':::',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:',
      '12345::',
      'g::',
      '::ffff:1.2.3',
      '::ffff:1.2.3.256',
      '::ffff:01.2.3.4',
      '1.2.3.4::',
      '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4',
      'fe80::1%',
      'fe80::1%eth 0',
      'fe80::1%%eth0',
      '[::1]',
      '::1/128',
      `${'1:'.repeat(40)}1`,
    ];
    for (const s of bad) expect(parseAddress(s), JSON.stringify(s)).toBeNull();
  });
});

describe('parseRange', () => {
  it('reads a single IPv4 address as a /32', () => {
    expect(matches('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(matches('10.0.0.2', '10.0.0.1')).toBe(false);
    expect(parseRange('10.0.0.1')).toEqual(parseRange('10.0.0.1/32'));
  });

  it('reads a single IPv6 address as a /128', () => {
    expect(matches('2001:db8::1', '2001:db8::1')).toBe(true);
    expect(matches('2001:db8::2', '2001:db8::1')).toBe(false);
    expect(parseRange('2001:db8::1')).toEqual(parseRange('2001:db8::1/128'));
  });

  it('matches an IPv4 CIDR range exactly at its edges', () => {
    expect(matches('10.0.0.0', '10.0.0.0/8')).toBe(true);
    expect(matches('10.255.255.255', '10.0.0.0/8')).toBe(true);
    expect(matches('11.0.0.0', '10.0.0.0/8')).toBe(false);
    expect(matches('9.255.255.255', '10.0.0.0/8')).toBe(false);
    expect(matches('192.168.1.127', '192.168.1.0/25')).toBe(true);
    expect(matches('192.168.1.128', '192.168.1.0/25')).toBe(false);
  });

  it('ignores host bits in the range text', () => {
    expect(parseRange('10.1.2.3/8')).toEqual(parseRange('10.0.0.0/8'));
    expect(parseRange('2001:db8::ff/32')).toEqual(parseRange('2001:db8::/32'));
  });

  it('lets 0.0.0.0/0 match every IPv4 address and no IPv6 one', () => {
    expect(matches('0.0.0.0', '0.0.0.0/0')).toBe(true);
    expect(matches('255.255.255.255', '0.0.0.0/0')).toBe(true);
    expect(matches('2001:db8::1', '0.0.0.0/0')).toBe(false);
    expect(matches('::1', '0.0.0.0/0')).toBe(false);
  });

  it('matches an IPv6 CIDR range exactly at its edges', () => {
    expect(matches('2001:db8::', '2001:db8::/32')).toBe(true);
    expect(matches('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32')).toBe(true);
    expect(matches('2001:db9::', '2001:db8::/32')).toBe(false);
    expect(matches('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32')).toBe(false);
  });

  it('lets ::/0 match every address, IPv4 included, since IPv4 addresses are ::ffff:a.b.c.d', () => {
    expect(matches('::', '::/0')).toBe(true);
    expect(matches('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::/0')).toBe(true);
    expect(matches('1.2.3.4', '::/0')).toBe(true);
  });

  it('matches an IPv4-mapped IPv6 address against its IPv4 range', () => {
    expect(matches('::ffff:10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(matches('::ffff:a01:203', '10.0.0.0/8')).toBe(true);
    expect(matches('::ffff:11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(matches('::ffff:10.0.0.1', '10.0.0.1')).toBe(true);
  });

  it('matches an IPv4 address against an IPv4-mapped IPv6 range', () => {
    expect(matches('10.1.2.3', '::ffff:10.0.0.0/104')).toBe(true);
    expect(matches('11.1.2.3', '::ffff:10.0.0.0/104')).toBe(false);
  });

  it('does not let an IPv6 range match unrelated IPv4 addresses', () => {
    // 32.1.13.184 has the same 32 bits as the 2001:db8 prefix.
    expect(matches('32.1.13.184', '2001:db8::/32')).toBe(false);
    // IPv4-compatible ::a.b.c.d is not the IPv4 address a.b.c.d.
    expect(matches('1.2.3.4', '::/96')).toBe(false);
    expect(matches('1.2.3.4', '::1.2.3.4')).toBe(false);
    expect(matches('0.0.0.1', '::1')).toBe(false);
    expect(matches('0.0.0.0', '::')).toBe(false);
    expect(matches('1.2.3.4', 'fe80::/10')).toBe(false);
  });

  it('does not let an IPv4 range match IPv6 addresses that merely end in the same bits', () => {
    expect(matches('::1.2.3.4', '1.2.3.0/24')).toBe(false);
    expect(matches('2001:db8::102:304', '1.2.3.0/24')).toBe(false);
    expect(matches('::ffff:0:102:304', '1.2.3.0/24')).toBe(false);
  });

  it('accepts a zone id in a range and ignores it', () => {
    expect(matches('fe80::1', 'fe80::%eth0/64')).toBe(true);
  });

  it('matches when any one of several ranges matches, and never for no ranges', () => {
    expect(matches('192.168.0.1', '10.0.0.0/8', '192.168.0.0/16')).toBe(true);
    expect(matches('172.16.0.1', '10.0.0.0/8', '192.168.0.0/16')).toBe(false);
    expect(inRanges(parseAddress('1.2.3.4') ?? -1n, [])).toBe(false);
  });

  it('accepts every prefix length from /0 to /32 for IPv4 and /0 to /128 for IPv6', () => {
    for (let bits = 0; bits <= 32; bits++) expect(() => parseRange(`1.2.3.4/${bits}`)).not.toThrow();
    for (let bits = 0; bits <= 128; bits++) expect(() => parseRange(`2001:db8::/${bits}`)).not.toThrow();
  });

  it('grows an IPv4 range by one address per host bit', () => {
    expect(matches('1.2.3.5', '1.2.3.4/31')).toBe(true);
    expect(matches('1.2.3.6', '1.2.3.4/31')).toBe(false);
    expect(matches('1.2.3.5', '1.2.3.4/32')).toBe(false);
  });

  it('refuses anything that is not an address or CIDR range with INVALID_RESTRICTION', () => {
    const bad = [
      '',
      'garbage',
      '01.2.3.4',
      '256.0.0.0',
      '1.2.3.4/33',
      '1.2.3.4/-1',
      '1.2.3.4/',
      '1.2.3.4/a',
      '1.2.3.4/8/8',
      '1.2.3.4/ 8',
      '1.2.3.4/1000',
      '::/129',
      '::/',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '/8',
      'localhost/8',
      'x'.repeat(10_000),
    ];
    for (const text of bad) {
      let error: unknown;
      try {
        parseRange(text);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(text.slice(0, 40))).toBeInstanceOf(KeywardError);
      expect((error as KeywardError).code).toBe('INVALID_RESTRICTION');
      expect((error as KeywardError).status).toBe(400);
      expect((error as KeywardError).errors?.[0]?.path).toBe('/restrictions/ips');
      expect((error as KeywardError).message.length).toBeLessThan(150);
    }
  });
});
