/**
 * A strict RFC 5424 parser for tests: it follows the ABNF of §6 and throws on the first
 * deviation, so a test that parses a line has validated it.
 */
export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export interface SyslogMessage {
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: SdElement[];
  msg: string;
}

// §6.2.3 (RFC 3339 profile): four-digit year, `T`, up to 6 fraction digits, `Z` or an offset.
const TIMESTAMP =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const PRINTUSASCII = /^[\x21-\x7e]+$/;
const SD_NAME = /^[\x21-\x7e]{1,32}$/;

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  fail(what: string): never {
    throw new Error(`RFC 5424: ${what} at offset ${this.pos} in ${JSON.stringify(this.s.slice(0, 200))}`);
  }
  expect(c: string): void {
    if (this.s[this.pos] !== c) this.fail(`expected ${JSON.stringify(c)}`);
    this.pos++;
  }
  token(name: string, max: number): string {
    const end = this.s.indexOf(' ', this.pos);
    const t = this.s.slice(this.pos, end === -1 ? this.s.length : end);
    if (t === '' || !PRINTUSASCII.test(t) || t.length > max) this.fail(`bad ${name} ${JSON.stringify(t)}`);
    this.pos += t.length;
    return t;
  }
  sdName(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !' ="]'.includes(this.s[this.pos] as string)) this.pos++;
    const name = this.s.slice(start, this.pos);
    if (!SD_NAME.test(name)) this.fail(`bad SD-NAME ${JSON.stringify(name)}`);
    return name;
  }
  paramValue(): string {
    let out = '';
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) this.fail('unterminated PARAM-VALUE');
      this.pos++;
      if (c === '"') return out;
      if (c === ']') this.fail('unescaped "]" in PARAM-VALUE');
      if (c === '\\') {
        const next = this.s[this.pos];
        // §6.3.3: only `"`, `\` and `]` are escapes; any other backslash is a literal one.
        if (next === '"' || next === '\\' || next === ']') {
          out += next;
          this.pos++;
          continue;
        }
      }
      out += c;
    }
  }
}

export function parseRfc5424(line: string): SyslogMessage {
  const c: Cursor = new Cursor(line);
  const pri = /^<(0|[1-9]\d{0,2})>([1-9]\d{0,2}) /.exec(line);
  if (!pri) c.fail('bad PRI or VERSION');
  const prival = Number(pri[1]);
  if (prival > 191) c.fail('PRIVAL above 191');
  c.pos = pri[0].length;
  const timestamp = c.token('TIMESTAMP', 32);
  if (timestamp !== '-' && (!TIMESTAMP.test(timestamp) || Number.isNaN(Date.parse(timestamp))))
    c.fail(`bad TIMESTAMP ${timestamp}`);
  c.expect(' ');
  const hostname = c.token('HOSTNAME', 255);
  c.expect(' ');
  const appName = c.token('APP-NAME', 48);
  c.expect(' ');
  const procId = c.token('PROCID', 128);
  c.expect(' ');
  const msgId = c.token('MSGID', 32);
  c.expect(' ');
  const sd: SdElement[] = [];
  if (line[c.pos] === '-') c.pos++;
  else {
    if (line[c.pos] !== '[') c.fail('expected STRUCTURED-DATA');
    while (line[c.pos] === '[') {
      c.pos++;
      const id = c.sdName();
      const params: [string, string][] = [];
      while (line[c.pos] === ' ') {
        c.pos++;
        const name = c.sdName();
        c.expect('=');
        c.expect('"');
        params.push([name, c.paramValue()]);
      }
      c.expect(']');
      if (sd.some((e) => e.id === id)) c.fail(`SD-ID ${id} twice`);
      sd.push({ id, params });
    }
  }
  let msg = '';
  if (c.pos < line.length) {
    c.expect(' ');
    msg = line.slice(c.pos);
  }
  return {
    facility: Math.floor(prival / 8),
    severity: prival % 8,
    version: Number(pri[2]),
    timestamp,
    hostname,
    appName,
    procId,
    msgId,
    sd,
    msg,
  };
}

/** The params of the `keyward@32473` element, as an object. */
export function sdParams(m: SyslogMessage, id = 'keyward@32473'): Record<string, string> {
  const el = m.sd.find((e) => e.id === id);
  if (!el) throw new Error(`no [${id}] element`);
  return Object.fromEntries(el.params);
}
