import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { octetCounted } from './rfc5424.js';
import type { ResolvedSink } from './sink-spec.js';
import type { Channel, Transport } from './transport.js';

export interface StreamOptions {
  /** A connection (TLS handshake included) not made within this is abandoned and retried. */
  connectTimeoutMs: number;
  /**
   * A write the peer does not drain within this breaks the connection: a receiver that stopped
   * reading (or vanished without a FIN) must not hold the sink "up" forever.
   */
  writeTimeoutMs: number;
}

const KEEPALIVE_MS = 30_000;

class StreamChannel implements Channel {
  private brokenListener: ((err: Error) => void) | null = null;
  private broken: Error | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly writeTimeoutMs: number,
  ) {
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.setNoDelay(true);
    // A syslog receiver sends nothing back; whatever it sends is discarded, never buffered.
    socket.on('data', () => {});
    socket.on('error', (err) => this.break(err));
    socket.on('close', () => this.break(new Error('connection closed by the receiver')));
  }

  private break(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    this.socket.destroy();
    this.brokenListener?.(err);
  }

  onBroken(listener: (err: Error) => void): void {
    this.brokenListener = listener;
    if (this.broken) listener(this.broken);
  }

  send(messages: readonly string[]): Promise<void> {
    const broken = this.broken;
    if (broken) return Promise.reject(broken);
    // RFC 6587 §3.4.1 octet counting (RFC 5425 §4.3 requires it over TLS): a line may hold anything.
    const payload = messages.map(octetCounted).join('');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.break(new Error(`write not drained within ${this.writeTimeoutMs} ms`)),
        this.writeTimeoutMs,
      );
      this.socket.write(payload, (err) => {
        clearTimeout(timer);
        // A write that completes as the connection breaks may not have reached the kernel: resend it.
        const failed = this.broken ?? err;
        if (failed) reject(failed);
        else resolve();
      });
    });
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.broken) return resolve();
      this.socket.once('close', () => resolve());
      // 'finish': everything is in the kernel, which delivers it after the FIN.
      this.socket.end(() => resolve());
    });
  }

  destroy(): void {
    this.break(new Error('closed'));
  }
}

/** `syslog+tcp` and `syslog+tls`: one long-lived connection, messages octet-counted. */
export function streamTransport(spec: ResolvedSink, opts: StreamOptions): Transport {
  if (spec.type !== 'syslog_tcp' && spec.type !== 'syslog_tls')
    throw new Error(`not a stream sink: ${spec.url}`);
  const { host, port } = spec;
  const secure = spec.type === 'syslog_tls';
  return {
    type: spec.type,
    format: 'syslog',
    maxBatch: 1000,
    open() {
      return new Promise<Channel>((resolve, reject) => {
        const socket = secure
          ? tlsConnect({
              host,
              port,
              // Certificate and host name are always verified; `ca` replaces the system trust store.
              ...(spec.ca !== undefined ? { ca: spec.ca } : {}),
              ...(isIP(host) ? {} : { servername: host }),
              minVersion: 'TLSv1.2',
            })
          : netConnect({ host, port });
        const timer = setTimeout(
          () => socket.destroy(new Error(`no connection within ${opts.connectTimeoutMs} ms`)),
          opts.connectTimeoutMs,
        );
        const onError = (err: Error) => {
          clearTimeout(timer);
          socket.destroy();
          reject(err);
        };
        socket.once('error', onError);
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          socket.off('error', onError);
          resolve(new StreamChannel(socket, opts.writeTimeoutMs));
        });
      });
    },
  };
}
