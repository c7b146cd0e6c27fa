import { KeywardError } from '../errors/index.js';

/**
 * IP addresses as 128-bit integers; IPv4 lives in the IPv4-mapped range ::ffff:0:0/96, so an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) matches its IPv4 range without a special case.
 */
const V4_MAPPED = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseV6(input: string): bigint | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) {
    // A zone id (RFC 4007 §11) names an interface: it is ignored, but must be there after `%`.
    if (!/^[^\s%/]+$/.test(s.slice(zone + 1))) return null;
    s = s.slice(0, zone);
  }
  let tailV4: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (halves.length === 2 ? groups < 1 : head.length !== 8) return null;
  const all = [...head, ...Array<string>(groups).fill('0'), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tailV4 !== null) n = (n & ~0xffffffffn) | tailV4;
  return n;
}

/** An address as a 128-bit integer (IPv4 mapped into ::ffff:0:0/96), or null if it is not one. */
export function parseAddress(s: string): bigint | null {
  if (s.length > 64) return null;
  if (s.includes(':')) return parseV6(s);
  const v4 = parseV4(s);
  return v4 === null ? null : V4_MAPPED | v4;
}

export interface IpRange {
  base: bigint;
  mask: bigint;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a single address. Throws a 400 for anything else. */
export function parseRange(text: string): IpRange {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  const isV4 = !addrText.includes(':');
  const maxBits = isV4 ? 32 : 128;
  let bits = maxBits;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    bits = /^\d{1,3}$/.test(b) ? Number(b) : -1;
  }
  if (addr === null || bits < 0 || bits > maxBits) {
    throw new KeywardError(
      'INVALID_RESTRICTION',
      `"${text.slice(0, 64)}" is not an IP address or CIDR range`,
      [{ path: '/restrictions/ips', message: `"${text.slice(0, 64)}" is not an IP address or CIDR range` }],
    );
  }
  const prefix = isV4 ? bits + 96 : bits;
  const mask = prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
  return { base: addr & mask, mask };
}

export function inRanges(address: bigint, ranges: readonly IpRange[]): boolean {
  for (const r of ranges) if ((address & r.mask) === r.base) return true;
  return false;
}
