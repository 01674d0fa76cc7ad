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
import { formatInstant, parseInstant } from './cri-format';
import { STDERR, STDOUT, type MessageSink, type StreamId } from './docker-stream';

const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const DOT = 0x2e;
const COMMA = 0x2c;
const Z = 0x5a;
const ZERO = 0x30;
const LOG_KEY = Buffer.from('{"log":"');
const STREAM_KEY = Buffer.from('","stream":"');
const TIME_KEY = Buffer.from('"time":"');
const STDOUT_VALUE = Buffer.from('stdout"');
const STDERR_VALUE = Buffer.from('stderr"');
/** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: what the API's RFC3339NanoFixed gives for a UTC time. */
export const TS_LEN = 30;

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

export class JsonLogDecoder {
  /** A line whose end has not been read yet. */
  private carry: Buffer = Buffer.allocUnsafe(64 * 1024);
  private carryLen = 0;
  /** Where each message is assembled (`<ts> <content>`) before the sink copies it away. */
  private scratch: Buffer = Buffer.allocUnsafe(64 * 1024);
  private readonly since: Buffer | undefined;
  /** Lines that were not json-file records (skipped), for a warning. */
  malformed = 0;

  /**
   * `since`: like the API's `since`, messages stamped before it are skipped (a normalized timestamp,
   * see normalizeTime).
   */
  constructor(
    private readonly sink: MessageSink,
    since?: string,
  ) {
    const s = since === undefined ? undefined : normalizeTime(since);
    this.since = s ? Buffer.from(s, 'latin1') : undefined;
  }

  push(chunk: Buffer): void {
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

  private append(chunk: Buffer, start: number, end: number): void {
    const need = this.carryLen + (end - start);
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carryLen, start, end);
    this.carryLen = need;
  }

  private room(n: number): Buffer {
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
    return this.scratch;
  }

  /** One line, without its newline, in buf[s, e). */
  private line(buf: Buffer, s: number, e: number): void {
    if (e <= s) return;
    if (e - s > LOG_KEY.length && buf.compare(LOG_KEY, 0, LOG_KEY.length, s, s + LOG_KEY.length) === 0) {
      const cs = s + LOG_KEY.length;
      // `","stream":"` cannot occur inside the escaped content (its quotes would be `\"`).
      const sep = buf.indexOf(STREAM_KEY, cs);
      if (sep >= 0 && sep < e) {
        const vs = sep + STREAM_KEY.length;
        const stream = this.streamAt(buf, vs, e);
        // `time` right after the stream; with `attrs` between them the line takes the slow path.
        const tk = vs + STDOUT_VALUE.length + 1;
        const ts = tk + TIME_KEY.length;
        const timeNext =
          !!stream &&
          ts < e &&
          buf[tk - 1] === COMMA &&
          buf.compare(TIME_KEY, 0, TIME_KEY.length, tk, ts) === 0;
        const te = timeNext ? buf.indexOf(QUOTE, ts) : -1;
        if (stream && te > 0 && te < e) {
          const bs = buf.indexOf(BACKSLASH, cs);
          if (bs < 0 || bs >= sep) return this.emit(stream, buf, ts, te, cs, sep, false);
          // Only the line's end escaped: `…\n"`.
          if (bs === sep - 2 && buf[sep - 1] === 0x6e)
            return this.emit(stream, buf, ts, te, cs, sep - 2, true);
        }
      }
    }
    this.slow(buf, s, e);
  }

  private streamAt(buf: Buffer, at: number, e: number): StreamId | undefined {
    if (at + STDOUT_VALUE.length > e) return undefined;
    if (buf.compare(STDOUT_VALUE, 0, STDOUT_VALUE.length, at, at + STDOUT_VALUE.length) === 0) return STDOUT;
    if (buf.compare(STDERR_VALUE, 0, STDERR_VALUE.length, at, at + STDERR_VALUE.length) === 0) return STDERR;
    return undefined;
  }

  /** Writes a fast-path message: time buf[ts, te), raw content buf[cs, ce) and maybe a newline. */
  private emit(
    stream: StreamId,
    buf: Buffer,
    ts: number,
    te: number,
    cs: number,
    ce: number,
    nl: boolean,
  ): void {
    const len = te - ts;
    const out = this.room(TS_LEN + 1 + (ce - cs) + 1);
    let p: number;
    if (len >= 22 && len <= TS_LEN && buf[ts + 19] === DOT && buf[te - 1] === Z) {
      p = buf.copy(out, 0, ts, te - 1);
      while (p < TS_LEN - 1) out[p++] = ZERO;
      out[p++] = Z;
    } else if (len === 20 && buf[ts + 19] === Z) {
      p = buf.copy(out, 0, ts, ts + 19);
      out[p++] = DOT;
      while (p < TS_LEN - 1) out[p++] = ZERO;
      out[p++] = Z;
    } else {
      const t = normalizeTime(buf.toString('latin1', ts, te));
      if (!t) {
        this.malformed++;
        return;
      }
      p = out.write(t, 0, 'latin1');
    }
    if (this.before(out)) return;
    out[p++] = SPACE;
    p += buf.copy(out, p, cs, ce);
    if (nl) out[p++] = NL;
    this.sink(stream, out, 0, p);
  }

  private slow(buf: Buffer, s: number, e: number): void {
    const m = parseSlow(buf.toString('utf8', s, e));
    if (!m) {
      this.malformed++;
      return;
    }
    const out = this.room(m.time.length + 1 + Buffer.byteLength(m.log));
    let p = out.write(m.time, 0, 'latin1');
    if (this.before(out)) return;
    out[p++] = SPACE;
    p += out.write(m.log, p, 'utf8');
    this.sink(m.stream, out, 0, p);
  }

  /** Is the timestamp at the start of out older than `since`? Both are fixed-width UTC. */
  private before(out: Buffer): boolean {
    return !!this.since && out.compare(this.since, 0, this.since.length, 0, this.since.length) < 0;
  }
}
