import type { Server } from 'node:http';
import { Socket } from 'node:net';

type WriteCallback = (err?: Error | null) => void;
type Chunks = Parameters<NonNullable<Socket['_writev']>>[0];

const socketWrite = Socket.prototype._write;
const socketWritev = Socket.prototype._writev as NonNullable<Socket['_writev']>;
const socketDestroy = Socket.prototype._destroy;

/**
 * The writes waiting for the end of this event-loop turn, as flat tuples (socket, data or chunks,
 * encoding, callback, isWritev): no object per write.
 */
let pending: unknown[] = [];

/** Runs the write at `i` of `writes` (if it was not sent already) and marks it sent. */
function send(writes: unknown[], i: number): void {
  const socket = writes[i] as Socket | null;
  if (socket === null) return;
  writes[i] = null;
  const callback = writes[i + 3] as WriteCallback;
  try {
    if (writes[i + 4]) socketWritev.call(socket, writes[i + 1] as Chunks, callback);
    else socketWrite.call(socket, writes[i + 1], writes[i + 2] as BufferEncoding, callback);
  } catch (err) {
    // Never one connection's failure in another's write: this connection alone is closed.
    socket.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

function flush(): void {
  const writes = pending;
  // A write made while flushing (a stream's next chunk) waits for the next turn.
  pending = [];
  for (let i = 0; i < writes.length; i += 5) send(writes, i);
}

/**
 * A socket destroyed right after a write (`write(answer); destroy()`, as Node and Fastify answer
 * a request they cannot parse) sends that write first, as it would have without the queue.
 */
function destroyAfterWrites(this: Socket, err: Error | null, callback: (error?: Error | null) => void): void {
  for (let i = 0; i < pending.length; i += 5) if (pending[i] === this) send(pending, i);
  socketDestroy.call(this, err, callback);
}

function later(socket: Socket, data: unknown, encoding: unknown, callback: WriteCallback, isWritev: boolean) {
  if (pending.length === 0) setImmediate(flush);
  pending.push(socket, data, encoding, callback, isWritev);
}

function deferredWrite(this: Socket, data: unknown, encoding: BufferEncoding, callback: WriteCallback) {
  later(this, data, encoding, callback, false);
}

function deferredWritev(this: Socket, chunks: Chunks, callback: WriteCallback) {
  later(this, chunks, null, callback, true);
}

/**
 * Sends every response written during one event-loop turn together, at the end of the turn
 * (`setImmediate`), instead of one system call as each is finished.
 *
 * Why: under load a turn answers many requests, and sending each at once wakes its client once
 * per response; on a host shared with its clients (a gateway, a sidecar, the benchmark's load
 * generator) every wake-up costs both sides CPU, more the slower the server is. Sent together,
 * a client woken by the first finds the others already there. Measured: docs/benchmarks.md,
 * "Seventh session". Cost: a response waits for the rest of its turn (the requests that arrived
 * with it), microseconds when idle.
 *
 * How: each accepted connection's socket gets its own `_write`/`_writev` (the stream hooks
 * `Writable` calls) that queue the write; the queue runs the socket's real ones. The stream
 * sees its write complete when it is sent, so back-pressure, `finish`, errors and `end()` after
 * a write behave as before, and `reply.sent` is true as soon as Fastify ends the response; a
 * socket destroyed with writes still queued sends them before it closes.
 */
export function coalesceWrites(server: Server): void {
  server.on('connection', (socket: Socket) => {
    socket._write = deferredWrite;
    socket._writev = deferredWritev;
    socket._destroy = destroyAfterWrites;
  });
}
