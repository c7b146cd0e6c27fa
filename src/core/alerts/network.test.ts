import { describe, expect, it } from 'vitest';
import { canonicalIp, ipNetwork } from './network.js';

describe('canonicalIp', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('writes %s as %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it.each(['', 'example.com', '256.0.0.1', '1.2.3', '2001:db8:::1'])('refuses %j', (input) => {
    expect(canonicalIp(input)).toBeNull();
  });
});

describe('ipNetwork', () => {
  it('groups IPv4 addresses by /24', () => {
    expect(ipNetwork('203.0.113.9')).toBe('203.0.113.0/24');
    expect(ipNetwork('203.0.113.250')).toBe('203.0.113.0/24');
    expect(ipNetwork('203.0.114.9')).toBe('203.0.114.0/24');
  });

  it('treats an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(ipNetwork('::ffff:203.0.113.9')).toBe('203.0.113.0/24');
  });

  it('groups IPv6 addresses by /48', () => {
    expect(ipNetwork('2001:db8:1:2::9')).toBe('2001:db8:1::/48');
    expect(ipNetwork('2001:db8:1:ffff:1:2:3:4')).toBe('2001:db8:1::/48');
    expect(ipNetwork('2001:db8:2::1')).toBe('2001:db8:2::/48');
  });

  it('refuses something that is not an address', () => {
    expect(ipNetwork('not an ip')).toBeNull();
  });
});
