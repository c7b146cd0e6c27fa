import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';

/**
 * Real syslog receivers for the SIEM tests: a TCP (or TLS) server that splits RFC 6587
 * octet-counted frames, and a UDP socket that takes one message per datagram.
 */
export interface Receiver {
  port: number;
  messages: string[];
  /** Framing errors seen (a receiver that cannot split the stream is a failed test). */
  errors: string[];
  /** Polls until `n` messages arrived (deadline `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<string[]>;
  /** Stops reading from every connection (the kernel buffers fill, writes stall). */
  pauseReading(): void;
  close(): Promise<void>;
}

export async function eventually<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Splits `MSG-LEN SP SYSLOG-MSG` frames (RFC 6587 §3.4.1) out of a byte stream. */
class OctetCountingSplitter {
  private buf = Buffer.alloc(0);
  constructor(
    private readonly onMessage: (m: string) => void,
    private readonly onError: (e: string) => void,
  ) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const sp = this.buf.indexOf(0x20);
      if (sp === -1) return;
      const len = this.buf.subarray(0, sp).toString('latin1');
      if (!/^[1-9]\d*$/.test(len)) {
        this.onError(`bad MSG-LEN ${JSON.stringify(len.slice(0, 20))}`);
        this.buf = Buffer.alloc(0);
        return;
      }
      const n = Number(len);
      if (this.buf.length < sp + 1 + n) return;
      this.onMessage(this.buf.subarray(sp + 1, sp + 1 + n).toString('utf8'));
      this.buf = this.buf.subarray(sp + 1 + n);
    }
  }
}

function receiver(server: Server, port: number, messages: string[], errors: string[], sockets: Set<Socket>) {
  return {
    port,
    messages,
    errors,
    waitFor: (n: number, timeoutMs = 10_000) =>
      eventually(
        `${n} syslog messages (have ${messages.length})`,
        () => (messages.length >= n ? messages : undefined),
        timeoutMs,
      ),
    pauseReading() {
      for (const s of sockets) s.pause();
      server.on('connection', (s: Socket) => s.pause());
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TlsMaterial {
  certPath: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl in `dir`. */
export function selfSignedCert(dir: string): TlsMaterial {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=keyward-test-syslog',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { certPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

/** A TCP syslog receiver (TLS when `tls` is given) on 127.0.0.1, on `port` or any free one. */
export async function startStreamReceiver(
  opts: { port?: number; tls?: TlsMaterial } = {},
): Promise<Receiver> {
  const messages: string[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const splitter = new OctetCountingSplitter(
      (m) => messages.push(m),
      (e) => errors.push(e),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
  };
  const server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, onSocket)
    : createNetServer(onSocket);
  // A client refusing our certificate shows up here; it is the test's business, not a crash.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return receiver(server, port, messages, errors, sockets);
}

export async function startUdpReceiver(): Promise<Receiver> {
  const messages: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (m) => messages.push(m.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: socket.address().port,
    messages,
    errors: [],
    waitFor: (n, timeoutMs = 10_000) =>
      eventually(
        `${n} datagrams (have ${messages.length})`,
        () => (messages.length >= n ? messages : undefined),
        timeoutMs,
      ),
    pauseReading() {},
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 that nobody listens on right now. */
export async function unusedPort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
