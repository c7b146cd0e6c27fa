import { invalid, KeywardError } from '../errors/index.js';
import { inRanges, parseAddress, parseRange } from '../verification/index.js';
import type { HostResolver } from './sender.js';

export const MAX_URL_LENGTH = 2048;

/**
 * Addresses a webhook may not reach under `KEYWARD_WEBHOOK_DENY_PRIVATE=1`: loopback, private
 * (RFC 1918, unique-local), link-local (which holds cloud metadata services, 169.254.169.254),
 * carrier-grade NAT, and the unspecified, multicast and reserved ranges. IPv4-mapped IPv6
 * addresses fall in their IPv4 ranges (see ip-ranges.ts).
 */
const NOT_PUBLIC = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b::/96',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
].map(parseRange);

/** Whether `address` (an IP literal) is loopback, private or otherwise not public. Non-addresses are not. */
export function isPrivateAddress(address: string): boolean {
  const parsed = parseAddress(address.replace(/^\[|\]$/g, ''));
  return parsed !== null && inRanges(parsed, NOT_PUBLIC);
}

function notAllowed(field: string, detail: string): KeywardError {
  return new KeywardError('WEBHOOK_URL_NOT_ALLOWED', detail, [{ path: field, message: detail }]);
}

/**
 * Checks a webhook URL: an absolute http:// or https:// URL. With `denyPrivate`, a host that
 * is (or resolves to) a private or loopback address is refused; the sender checks the
 * resolved address again on every attempt, so a name re-pointed later is refused then too.
 */
export async function checkTargetUrl(
  url: string,
  opts: {
    denyPrivate: boolean;
    resolve?: HostResolver | undefined;
    /** The body field errors point at; `/url` by default. */
    field?: string | undefined;
  },
): Promise<void> {
  const field = opts.field ?? '/url';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(field, 'must be an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw invalid(field, 'must be an absolute http:// or https:// URL');
  if (!opts.denyPrivate) return;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))
    throw notAllowed(field, 'url points to a private or loopback address, which this server refuses');
  if (parseAddress(host) !== null || !opts.resolve) return;
  let addresses: string[];
  try {
    addresses = await opts.resolve(host);
  } catch {
    // A name that does not resolve yet is accepted: each attempt checks what it resolves to then.
    return;
  }
  if (addresses.some(isPrivateAddress))
    throw notAllowed(field, 'url resolves to a private or loopback address, which this server refuses');
}
