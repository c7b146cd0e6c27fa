import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { ResolvedSink } from './sink-spec.js';
import { type Channel, MessageRejected, type Transport } from './transport.js';

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed: nothing left to release.
  }
}

class DatagramChannel implements Channel {
  private brokenListener: ((err: Error) => void) | null = null;
  private broken: Error | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('error', (err) => this.break(err));
  }

  private break(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    closeQuietly(this.socket);
    this.brokenListener?.(err);
  }

  onBroken(listener: (err: Error) => void): void {
    this.brokenListener = listener;
    if (this.broken) listener(this.broken);
  }

  async send(messages: readonly string[]): Promise<void> {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) => {
        if (this.broken) return reject(this.broken);
        this.socket.send(Buffer.from(m, 'utf8'), (err) => {
          if (!err) return resolve();
          if ((err as { code?: unknown }).code === 'EMSGSIZE')
            return reject(new MessageRejected(err.message));
          // On a connected socket, an ICMP "port unreachable" for an earlier datagram surfaces
          // here (ECONNREFUSED): the receiver is down, so this one is kept and retried.
          this.break(err);
          reject(err);
        });
      });
    }
  }

  async end(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.break(new Error('closed'));
  }
}

/**
 * `syslog+udp`: one RFC 5424 message per datagram (RFC 5426). The socket is connected, so
 * the kernel reports an unreachable receiver; a datagram lost on the way is never known.
 */
export function udpTransport(spec: ResolvedSink): Transport {
  if (spec.type !== 'syslog_udp') throw new Error(`not a UDP sink: ${spec.url}`);
  const { host, port } = spec;
  return {
    type: spec.type,
    format: 'syslog',
    maxBatch: 1,
    async open() {
      const { address, family } = await lookup(host);
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      }).catch((err: unknown) => {
        closeQuietly(socket);
        throw err;
      });
      return new DatagramChannel(socket);
    },
  };
}
