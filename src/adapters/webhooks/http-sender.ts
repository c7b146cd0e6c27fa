import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from 'node:dns';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type {
  HostResolver,
  WebhookRequest,
  WebhookResponse,
  WebhookSender,
} from '../../core/webhooks/index.js';
import { isPrivateAddress } from '../../core/webhooks/index.js';

export interface HttpSenderOptions {
  /** `KEYWARD_WEBHOOK_DENY_PRIVATE`: refuse to connect to loopback and private addresses. */
  denyPrivate: boolean;
}

const NOT_ALLOWED = 'address not allowed';

/**
 * A DNS lookup that fails when any address a name resolves to is private. It runs inside the
 * connection attempt, so the address checked is the address connected to: a name re-pointed
 * between registration and delivery (DNS rebinding) is refused too.
 */
const guardedLookup = ((
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, []);
    if (addresses.some((a) => isPrivateAddress(a.address))) {
      const refused: NodeJS.ErrnoException = new Error(NOT_ALLOWED);
      refused.code = 'EADDRNOTALLOWED';
      return callback(refused, []);
    }
    if ('all' in options && options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), []);
    return callback(null, first.address, first.family);
  });
}) as LookupFunction;

function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR') return 'aborted';
  if (typeof e?.code === 'string') return e.code === 'EADDRNOTALLOWED' ? NOT_ALLOWED : e.code;
  // Messages of node's HTTP client name no URL or header; cap them anyway.
  return typeof e?.message === 'string' ? e.message.slice(0, 200) : 'request failed';
}

/**
 * The real sender: one POST per attempt with node's HTTP client. Redirects are not followed
 * (a 3xx is a failed attempt, as Standard Webhooks says), and no connection is reused, so each
 * attempt connects to what the name resolves to now.
 */
export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly opts: HttpSenderOptions) {}

  send(req: WebhookRequest): Promise<WebhookResponse> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return resolve({ error: 'invalid url' });
      }
      const host = url.hostname.replace(/^\[|\]$/g, '');
      // A literal address skips the lookup, so it is checked here.
      if (this.opts.denyPrivate && (host === 'localhost' || (isIP(host) !== 0 && isPrivateAddress(host))))
        return resolve({ error: NOT_ALLOWED });
      let settled = false;
      const finish = (r: WebhookResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      let request: ClientRequest;
      try {
        request = send(url, {
          method: 'POST',
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          agent: false,
          signal: req.signal,
          ...(this.opts.denyPrivate ? { lookup: guardedLookup } : {}),
        });
      } catch (err) {
        return resolve({ error: reason(err) });
      }
      const timer = setTimeout(() => {
        finish({ error: 'timeout' });
        request.destroy();
      }, req.timeoutMs);
      request.on('response', (res: IncomingMessage) => {
        // The answer's body is not needed: drain it so the socket closes cleanly.
        res.resume();
        res.on('error', () => undefined);
        finish({ status: res.statusCode ?? 0 });
      });
      request.on('error', (err) => finish({ error: reason(err) }));
      request.end(req.body);
    });
  }
}

/** Every address `host` resolves to (for the registration check under deny-private). */
export const resolveHost: HostResolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses.map((a) => a.address)),
    );
  });
