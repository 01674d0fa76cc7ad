/**
 * Decodes Docker's json-file log lines into the messages its log API would send. Pure: no I/O.
 *
 * Each line is `{"log":"<content>","stream":"stdout|stderr"[,"attrs":{…}],"time":"<RFC3339Nano>"}`.
 * The API (`timestamps=1`) sends `<time with 9 fraction digits> <content>` per line, so that is what
 * the sink gets: the pump's encoder sees the same bytes on either path, and its output is identical.
 *
 * Most lines need no JSON.parse: when the content holds no escape (or only its final `\n`), its raw
 * bytes are the decoded content (Docker writes valid UTF-8 and escapes everything else), and they are
 * copied once into a reused scratch buffer. Anything else goes through JSON.parse.
 */
import { formatInstant, parseInstant, type CriEncoder } from './cri-format';
import { STDERR, STDOUT, type StreamId } from './docker-stream';

const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const DOT = 0x2e;
const BRACE = 0x7d;
const N = 0x6e;
const Z = 0x5a;
const ZERO = 0x30;
const LOG_KEY = Buffer.from('{"log":"');
/** What follows the content up to the stream's last three letters (`out` or `err`). */
const STREAM_KEY = Buffer.from('","stream":"std');
/** What follows the stream up to the time; with `attrs` between them the slow path reads the line. */
const TIME_KEY = Buffer.from('","time":"');
/** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: what the API's RFC3339NanoFixed gives for a UTC time. */
export const TS_LEN = 30;
/** Buffers grow on first need: a pump per container, most of them idle. */
const EMPTY = Buffer.alloc(0);

/**
 * A json-file `time` (Go's RFC3339Nano: trailing fraction zeros dropped) as the API writes it: UTC,
 * nine fraction digits. Undefined when it is not a timestamp.
 */
export function normalizeTime(time: string): string | undefined {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/.test(time)) {
    const frac = time.length > 20 ? time.slice(20, -1) : '';
    return `${time.slice(0, 19)}.${frac.padEnd(9, '0')}Z`;
  }
  const t = parseInstant(time);
  return t ? formatInstant(t) : undefined;
}

interface Parsed {
  stream: StreamId;
  time: string;
  log: string;
}

function parseSlow(text: string): Parsed | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof o.time !== 'string') return undefined;
  const time = normalizeTime(o.time);
  if (!time) return undefined;
  return {
    stream: o.stream === 'stderr' ? STDERR : STDOUT,
    time,
    log: typeof o.log === 'string' ? o.log : '',
  };
}

/**
 * Where decoded messages go: CriEncoder's two entry points, `message` and `line`. The buffers they
 * are handed are lent for the call only (scratch space, one timestamp buffer shared by every
 * decoder): a sink copies what it keeps before returning.
 */
export type DecodedSink = Pick<CriEncoder, 'message' | 'line'>;

function matches(buf: Buffer, at: number, key: Buffer): boolean {
  if (at + key.length > buf.length) return false;
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}

/**
 * Where a fast-path timestamp that needed its fraction padded is assembled. One for every decoder:
 * the sink copies it before line() returns, and a node has a decoder per container.
 */
const TS_SCRATCH = Buffer.alloc(TS_LEN);

export class JsonLogDecoder {
  /** A line whose end has not been read yet. */
  private carry: Buffer = EMPTY;
  private carryLen = 0;
  /** Where a slow-path message (`<ts> <content>`) is assembled before the sink copies it away. */
  private scratch: Buffer = EMPTY;
  private readonly since: Buffer | undefined;
  /** Lines that were not json-file records (skipped), for a warning. */
  malformed = 0;

  /**
   * `since`: like the API's `since`, messages stamped before it are skipped (a normalized timestamp,
   * see normalizeTime).
   */
  constructor(
    private sink: DecodedSink | undefined,
    since?: string,
  ) {
    const s = since === undefined ? undefined : normalizeTime(since);
    // Its own memory, not a slice of Node's 8 KiB pool, which it would pin for the source's life.
    this.since = s ? Buffer.alloc(s.length, s, 'latin1') : undefined;
  }

  /** Decodes `chunk`; complete lines go to `to` (or the sink given before). */
  push(chunk: Buffer, to?: DecodedSink): void {
    if (to) this.sink = to;
    let start = 0;
    if (this.carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.append(chunk, 0, chunk.length);
        return;
      }
      this.append(chunk, 0, nl);
      this.line(this.carry, 0, this.carryLen);
      this.carryLen = 0;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk, start, chunk.length);
  }

  /** Bytes of a line not yet complete. */
  pending(): number {
    return this.carryLen;
  }

  /** Drops an incomplete line (its file was truncated or is finished). */
  reset(): void {
    this.carryLen = 0;
  }

  /** Part of a line is held (its end not read yet). */
  get midLine(): boolean {
    return this.carryLen > 0;
  }

  private append(chunk: Buffer, start: number, end: number): void {
    const need = this.carryLen + (end - start);
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2, 4096));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carryLen, start, end);
    this.carryLen = need;
  }

  /** One line, without its newline, in buf[s, e). */
  private line(buf: Buffer, s: number, e: number): void {
    if (e <= s) return;
    if (!this.fast(buf, s, e)) this.slow(buf, s, e);
  }

  /**
   * `{"log":"<content>","stream":"std(out|err)","time":"<time>"}` where the content holds no escape
   * but maybe its final `\n`: handed on in place, nothing copied. False for any other line.
   */
  private fast(buf: Buffer, s: number, e: number): boolean {
    const cs = s + LOG_KEY.length;
    if (!matches(buf, s, LOG_KEY)) return false;
    const q = buf.indexOf(QUOTE, cs);
    if (q < 0 || q >= e) return false;
    let ce = q;
    let eol = false;
    const bs = buf.indexOf(BACKSLASH, cs);
    if (bs >= 0 && bs < q) {
      // The only escape allowed is the line's end: `…\n"`. Any other (an escaped quote included)
      // leaves q short of the closing quote, and the slow path decodes the line.
      if (bs !== q - 2 || buf[q - 1] !== N) return false;
      ce = q - 2;
      eol = true;
    }
    if (!matches(buf, q, STREAM_KEY)) return false;
    const v = q + STREAM_KEY.length;
    let stream: StreamId;
    if (buf[v] === 0x6f && buf[v + 1] === 0x75 && buf[v + 2] === 0x74) stream = STDOUT;
    else if (buf[v] === 0x65 && buf[v + 1] === 0x72 && buf[v + 2] === 0x72) stream = STDERR;
    else return false;
    const ts = v + 3 + TIME_KEY.length;
    if (!matches(buf, v + 3, TIME_KEY)) return false;
    let te = ts;
    while (te < e && te - ts <= TS_LEN && buf[te] !== QUOTE) te++;
    if (te + 2 !== e || buf[te] !== QUOTE || buf[te + 1] !== BRACE) return false;
    const len = te - ts;
    let tsBuf = buf;
    let tsStart = ts;
    let tsEnd = te;
    if (len !== TS_LEN || buf[ts + 19] !== DOT || buf[te - 1] !== Z) {
      const out = TS_SCRATCH;
      let p: number;
      if (len >= 22 && len < TS_LEN && buf[ts + 19] === DOT && buf[te - 1] === Z) {
        p = buf.copy(out, 0, ts, te - 1);
      } else if (len === 20 && buf[ts + 19] === Z) {
        p = buf.copy(out, 0, ts, ts + 19);
        out[p++] = DOT;
      } else return false;
      while (p < TS_LEN - 1) out[p++] = ZERO;
      out[p] = Z;
      [tsBuf, tsStart, tsEnd] = [out, 0, TS_LEN];
    }
    if (!this.before(tsBuf, tsStart)) this.sink?.line(stream, tsBuf, tsStart, tsEnd, buf, cs, ce, eol);
    return true;
  }

  private room(n: number): Buffer {
    if (this.scratch.length < n)
      this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2, 4096));
    return this.scratch;
  }

  private slow(buf: Buffer, s: number, e: number): void {
    const m = parseSlow(buf.toString('utf8', s, e));
    if (!m) {
      this.malformed++;
      return;
    }
    const out = this.room(m.time.length + 1 + Buffer.byteLength(m.log));
    let p = out.write(m.time, 0, 'latin1');
    if (this.before(out, 0)) return;
    out[p++] = SPACE;
    p += out.write(m.log, p, 'utf8');
    this.sink?.message(m.stream, out, 0, p);
  }

  /** Is the timestamp at buf[at] older than `since`? Both are fixed-width UTC. */
  private before(buf: Buffer, at: number): boolean {
    const since = this.since;
    if (!since) return false;
    for (let i = 0; i < since.length; i++) {
      const d = buf[at + i] - since[i];
      if (d !== 0) return d < 0;
    }
    return false;
  }
}
