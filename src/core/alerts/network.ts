import { parseAddress } from '../verification/index.js';

/**
 * Addresses and the networks alerts group them by. `parseAddress` maps IPv4 into
 * ::ffff:0:0/96, so `::ffff:203.0.113.9` and `203.0.113.9` are one address here too.
 */

const V4_TAG = 0xffffn;
const V4_NETWORK_MASK = 0xffffff00n;
/** The first 48 of 128 bits. */
const V6_NETWORK_MASK = ((1n << 48n) - 1n) << 80n;

const isV4 = (a: bigint): boolean => a >> 32n === V4_TAG;

function formatV4(a: bigint): string {
  const n = Number(a & 0xffffffffn);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatV6(a: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((a >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  const head = hex.slice(0, best.start).join(':');
  const tail = hex.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}

/** One spelling per address (dotted IPv4, RFC 5952 IPv6), or null for something that is not one. */
export function canonicalIp(text: string): string | null {
  const a = parseAddress(text);
  if (a === null) return null;
  return isV4(a) ? formatV4(a) : formatV6(a);
}

/**
 * The network a new-IP alert compares: the /24 of an IPv4 address, the /48 of an IPv6 one
 * (a typical end site's allocation, so one customer's changing addresses stay one network).
 */
export function ipNetwork(text: string): string | null {
  const a = parseAddress(text);
  if (a === null) return null;
  return isV4(a) ? `${formatV4(a & V4_NETWORK_MASK)}/24` : `${formatV6(a & V6_NETWORK_MASK)}/48`;
}
