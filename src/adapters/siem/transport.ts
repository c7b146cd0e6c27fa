import type { SinkType } from './sink-spec.js';

/** An open connection (or file) to one sink. */
export interface Channel {
  /**
   * Writes the messages, framed for the transport. Resolves once they are handed to the
   * operating system (socket or file); rejects when the channel broke, and the caller keeps
   * them for the next channel. Syslog has no acknowledgement: a line in a socket buffer when
   * the connection dies is lost, as with every syslog sender.
   */
  send(messages: readonly string[]): Promise<void>;
  /** Called at most once, when the peer closes the channel or it fails. */
  onBroken(listener: (err: Error) => void): void;
  /** Flushes pending writes and closes cleanly (the caller bounds the wait). */
  end(): Promise<void>;
  destroy(): void;
}

export interface Transport {
  readonly type: SinkType;
  /** `syslog`: an RFC 5424 line; `json`: the bare JSON object. */
  readonly format: 'syslog' | 'json';
  /** Messages per `send` (a UDP datagram carries one). */
  readonly maxBatch: number;
  open(): Promise<Channel>;
}

/** A message this transport can never carry (a datagram too large): dropped, not retried. */
export class MessageRejected extends Error {
  override name = 'MessageRejected';
}

/** The message of an error, for logs: node's network errors carry their code. */
export function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
