import { hostname } from 'node:os';
import type { SiemExport, SiemKind } from '../../core/siem/index.js';
import { BufferedSink, type DropReason } from './buffered-sink.js';
import { fileTransport } from './file-transport.js';
import { formatSyslog, headerField } from './rfc5424.js';
import { recordJson, toSiemRecord } from './siem-record.js';
import type { ResolvedSink, SinkType } from './sink-spec.js';
import { streamTransport } from './stream-transport.js';
import { reason, type Transport } from './transport.js';
import { udpTransport } from './udp-transport.js';

export type SiemOutcome = 'sent' | 'dropped_overflow' | 'dropped_shutdown' | 'dropped_rejected';

/** Counters and gauges, labelled by sink type only (never by address: labels stay bounded). */
export interface SiemStats {
  events(sinkType: SinkType, outcome: SiemOutcome, n: number): void;
  /** 1 while every sink of the type is connected (or, for a file, writable). */
  sinkUp(sinkType: SinkType, up: boolean): void;
  buffered(sinkType: SinkType, n: number): void;
}

/** The part of a pino logger used here. */
export interface SiemLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SiemExporterOptions {
  /** Per sink: messages held while it is down (default 10 000). */
  bufferEvents?: number;
  /** Per sink: characters held while it is down (default 16 Mi). */
  bufferChars?: number;
  /** Reconnection backoff, doubling from min to max (defaults 250 ms and 30 s). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** TCP/TLS connection (and handshake) timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** A write the receiver does not drain within this breaks the connection (default 30 s). */
  writeTimeoutMs?: number;
  /** The syslog HOSTNAME (default os.hostname()) and PROCID (default the pid). */
  hostname?: string;
  procId?: string;
  now?: () => number;
  stats?: SiemStats;
  logger?: SiemLogger;
}

interface Sink {
  spec: ResolvedSink;
  sink: BufferedSink;
}

const OUTCOME: Record<DropReason, SiemOutcome> = {
  overflow: 'dropped_overflow',
  shutdown: 'dropped_shutdown',
  rejected: 'dropped_rejected',
};

const noStats: SiemStats = { events() {}, sinkUp() {}, buffered() {} };

/**
 * Fans every exported event out to every configured sink (KEYWARD_SIEM). `export` formats the
 * event once per wire format and hands it to each sink's bounded buffer: it never waits and
 * never throws, so verification and the API never depend on a SIEM being up.
 */
export class SiemExporter implements SiemExport {
  private readonly sinks: Sink[];
  private readonly stats: SiemStats;
  private readonly host: string;
  private readonly procId: string;
  private readonly now: () => number;
  private readonly syslog: boolean;
  private closing: Promise<void> | null = null;

  constructor(
    specs: readonly ResolvedSink[],
    private readonly opts: SiemExporterOptions = {},
  ) {
    this.stats = opts.stats ?? noStats;
    this.host = headerField(opts.hostname ?? hostname(), 255);
    this.procId = opts.procId ?? String(process.pid);
    this.now = opts.now ?? Date.now;
    this.sinks = specs.map((spec) => ({ spec, sink: this.openSink(spec) }));
    this.syslog = this.sinks.some((s) => s.sink.transport.format === 'syslog');
    for (const type of new Set(specs.map((s) => s.type))) {
      this.stats.sinkUp(type, false);
      this.stats.buffered(type, 0);
      for (const outcome of Object.values(OUTCOME).concat('sent')) this.stats.events(type, outcome, 0);
    }
  }

  get sinkCount(): number {
    return this.sinks.length;
  }

  /** Messages waiting in every buffer. */
  get buffered(): number {
    return this.sinks.reduce((n, s) => n + s.sink.buffered, 0);
  }

  export(kind: SiemKind, payload: object): void {
    if (this.sinks.length === 0) return;
    let json: string;
    let line = '';
    try {
      const record = toSiemRecord(kind, payload, this.now());
      json = recordJson(record, this.host);
      if (this.syslog) line = formatSyslog(record, { hostname: this.host, procId: this.procId }, json);
    } catch (err) {
      // An unserializable payload (a bigint, a cycle) is a bug upstream; it must not break the caller.
      for (const s of this.sinks) this.stats.events(s.spec.type, 'dropped_rejected', 1);
      this.opts.logger?.warn({ siem: kind, err: reason(err) }, 'siem: event could not be formatted, dropped');
      return;
    }
    for (const s of this.sinks) s.sink.push(s.sink.transport.format === 'json' ? json : line);
  }

  /**
   * Stops accepting events and flushes what the buffers hold for at most `timeoutMs`; what is
   * left then is counted as `dropped_shutdown`.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.closing ??= (async () => {
      const deadline = Date.now() + timeoutMs;
      await Promise.all(this.sinks.map((s) => s.sink.close(deadline)));
    })();
    return this.closing;
  }

  private transport(spec: ResolvedSink): Transport {
    switch (spec.type) {
      case 'syslog_tcp':
      case 'syslog_tls':
        return streamTransport(spec, {
          connectTimeoutMs: this.opts.connectTimeoutMs ?? 5_000,
          writeTimeoutMs: this.opts.writeTimeoutMs ?? 30_000,
        });
      case 'syslog_udp':
        return udpTransport(spec);
      case 'file':
        return fileTransport(spec);
    }
  }

  private openSink(spec: ResolvedSink): BufferedSink {
    const type = spec.type;
    const log = this.opts.logger;
    let overflowing = false;
    const sink: BufferedSink = new BufferedSink(
      this.transport(spec),
      {
        sent: (n) => {
          overflowing = false;
          this.stats.events(type, 'sent', n);
        },
        dropped: (why, n) => {
          this.stats.events(type, OUTCOME[why], n);
          // One line per episode, not one per dropped event.
          if (why === 'overflow' && !overflowing) {
            overflowing = true;
            log?.warn({ siem: spec.url }, 'siem: buffer full, dropping events until the sink catches up');
          }
          if (why === 'shutdown')
            log?.warn({ siem: spec.url, dropped: n }, 'siem: events not sent before shutdown');
          if (why === 'rejected')
            log?.warn({ siem: spec.url }, 'siem: event too large for the sink, dropped');
        },
        state: (up, err) => {
          const allUp = this.sinks.every((s) => s.spec.type !== type || (s.sink === sink ? up : s.sink.up));
          this.stats.sinkUp(type, allUp);
          if (up) log?.info({ siem: spec.url }, 'siem: sink connected');
          else
            log?.warn({ siem: spec.url, err: reason(err) }, 'siem: sink unreachable, buffering and retrying');
        },
        depth: () => {
          let n = 0;
          for (const s of this.sinks) if (s.spec.type === type) n += s.sink.buffered;
          this.stats.buffered(type, n);
        },
      },
      {
        maxEvents: this.opts.bufferEvents ?? 10_000,
        maxChars: this.opts.bufferChars ?? 16 * 1024 * 1024,
        maxBatchChars: 256 * 1024,
        backoffMinMs: this.opts.backoffMinMs ?? 250,
        backoffMaxMs: this.opts.backoffMaxMs ?? 30_000,
      },
    );
    return sink;
  }
}
