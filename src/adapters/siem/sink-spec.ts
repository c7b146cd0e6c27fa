import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The metric label of a sink: its kind of transport, never its address (labels stay bounded). */
export type SinkType = 'syslog_tcp' | 'syslog_tls' | 'syslog_udp' | 'file';

export type SinkSpec =
  | { type: 'syslog_tcp' | 'syslog_udp'; url: string; host: string; port: number }
  | { type: 'syslog_tls'; url: string; host: string; port: number; caPath: string | null }
  | { type: 'file'; url: string; path: string };

/** A sink ready to open: a TLS sink carries the PEM of its private CA, when it has one. */
export type ResolvedSink = SinkSpec & { ca?: string };

/** A bad `KEYWARD_SIEM`: the server refuses to start and prints this message. */
export class SiemConfigError extends Error {
  override name = 'SiemConfigError';
}

const SCHEMES: Record<string, SinkType> = {
  'syslog+tcp:': 'syslog_tcp',
  'syslog+tls:': 'syslog_tls',
  'syslog+udp:': 'syslog_udp',
  'file:': 'file',
};

const EXPECTED =
  'expected syslog+tcp://host:port, syslog+tls://host:port[?ca=/path.pem], syslog+udp://host:port or file:///path.jsonl';

function fail(item: string, why: string): never {
  throw new SiemConfigError(`invalid configuration: KEYWARD_SIEM (--siem) sink "${item}": ${why}`);
}

function parseOne(item: string, defaultCa: string | undefined): SinkSpec {
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    fail(item, `not a URL (${EXPECTED})`);
  }
  const type = SCHEMES[url.protocol.toLowerCase()];
  if (type === undefined) fail(item, `unknown scheme "${url.protocol}" (${EXPECTED})`);
  // Credentials in a sink URL would end up in logs and process listings; none of these transports takes any.
  if (url.username !== '' || url.password !== '') fail(item, 'credentials are not accepted in a sink URL');
  if (url.hash !== '') fail(item, 'a #fragment means nothing here');

  if (type === 'file') {
    if (url.hostname !== '') fail(item, 'only local files: write file:///absolute/path.jsonl');
    if (url.search !== '') fail(item, 'a file sink takes no options');
    const path = fileURLToPath(url);
    if (!isAbsolute(path) || path.endsWith('/')) fail(item, 'needs an absolute file path');
    return { type, url: item, path };
  }

  // IPv6 literals come back bracketed: `[::1]`.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') fail(item, 'needs a host');
  if (url.port === '' || Number(url.port) === 0) fail(item, `needs a port (${url.protocol}//host:port)`);
  if (url.pathname !== '' && url.pathname !== '/') fail(item, 'a syslog sink takes no path');
  const port = Number(url.port);
  const options = [...url.searchParams.keys()];
  if (type !== 'syslog_tls') {
    if (options.length > 0) fail(item, 'takes no options');
    return { type, url: item, host, port };
  }
  const unknown = options.filter((k) => k !== 'ca');
  if (unknown.length > 0)
    fail(
      item,
      `unknown option "${unknown[0]}": the only option is ca=/path.pem ` +
        '(certificate verification cannot be turned off; give the private CA instead)',
    );
  const caPath = url.searchParams.get('ca') ?? defaultCa ?? null;
  if (caPath !== null && !isAbsolute(caPath)) fail(item, 'ca= needs an absolute path to a PEM file');
  return { type, url: item, host: isIP(host) ? host : host.toLowerCase(), port, caPath };
}

/**
 * Parses the comma-separated sink list, without touching the file system or the network.
 * Empty items are ignored (a trailing comma is harmless); a sink listed twice is refused,
 * since it would receive every event twice.
 */
export function parseSiemSinks(
  list: string | undefined,
  opts: { tlsCa?: string | undefined } = {},
): SinkSpec[] {
  const items = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const specs = items.map((item) => parseOne(item, opts.tlsCa));
  const seen = new Set<string>();
  for (const s of specs) {
    const id = s.type === 'file' ? `file:${s.path}` : `${s.type}:${s.host}:${s.port}`;
    if (seen.has(id)) fail(s.url, 'listed twice');
    seen.add(id);
  }
  return specs;
}

/**
 * Parses, then checks what can be checked before the server starts: a private CA must be a
 * readable PEM certificate and a file sink's directory must exist. A receiver that is down is
 * not an error: it is retried.
 */
export function resolveSiemSinks(
  list: string | undefined,
  opts: { tlsCa?: string | undefined } = {},
): ResolvedSink[] {
  return parseSiemSinks(list, opts).map((spec): ResolvedSink => {
    if (spec.type === 'file') {
      const dir = dirname(spec.path);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
        fail(spec.url, `directory ${dir} does not exist`);
      if (statSync(spec.path, { throwIfNoEntry: false })?.isDirectory())
        fail(spec.url, `${spec.path} is a directory`);
      return spec;
    }
    if (spec.type !== 'syslog_tls' || spec.caPath === null) return spec;
    let ca: string;
    try {
      ca = readFileSync(spec.caPath, 'utf8');
    } catch (err) {
      fail(
        spec.url,
        `cannot read CA file ${spec.caPath}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      fail(spec.url, `CA file ${spec.caPath} holds no PEM certificate`);
    return { ...spec, ca };
  });
}
