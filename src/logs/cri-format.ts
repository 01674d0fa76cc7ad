/**
 * The CRI log format, written and read back. Pure: no I/O.
 *
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <message>\n
 *
 * `F` ends a line; `P` is a piece of a longer line whose later pieces follow. Docker's own timestamps
 * are kept: they are the resume key after a restart (`since=<timestamp>`).
 *
 * Resume position. Docker stamps stdout and stderr messages in two goroutines before storing them,
 * so stored order and timestamp order can disagree (by microseconds). What we wrote is a prefix of
 * Docker's stored sequence. We resume with `since` = (latest timestamp written) - REORDER_WINDOW:
 * every message not yet written was stored after the written ones, so its timestamp is at least
 * that. Docker answers with the stored messages at or after `since`, in stored order, and the first
 * of them are exactly the written ones at or after `since`. `units` counts those (content bytes, plus
 * one per line end); skipping that many units lands just after the last byte written: nothing lost,
 * nothing twice, even when a long line was cut between its pieces.
 */
import { DOCKER_PARTIAL_BYTES, STDERR, type StreamId } from './docker-stream';

/** Longest message in one CRI record; longer lines become P records ended by an F record. */
export const MAX_RECORD_BYTES = 16 * 1024;

const NL = 0x0a;
const SPACE = 0x20;
const MAX_TS = 64;

const HEADS: Record<string, Buffer> = {
  '1F': Buffer.from(' stdout F '),
  '1P': Buffer.from(' stdout P '),
  '2F': Buffer.from(' stderr F '),
  '2P': Buffer.from(' stderr P '),
};
const HEAD_LEN = 10;
/** HEADS by stream (1, 2) * 2 + (partial ? 1 : 0): no string key per record. */
const HEAD_BY_KEY: Buffer[] = [HEADS['1F'], HEADS['1F'], HEADS['1F'], HEADS['1P'], HEADS['2F'], HEADS['2P']];

/**
 * buf.copy for the short ranges of a record (timestamp, head, short lines): a JS loop beats the
 * native call below a few dozen bytes.
 */
function copyShort(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  const n = end - start;
  if (n > 48) return src.copy(dst, at, start, end);
  for (let i = 0; i < n; i++) dst[at + i] = src[start + i];
  return n;
}
const BATCH_BYTES = 64 * 1024;

export interface ResumePoint {
  /** Docker's `since`, as an RFC3339Nano timestamp: REORDER_WINDOW before the latest written. */
  ts: string;
  /** Units (content bytes + 1 per F record) written with timestamps at or after `ts`. */
  units: number;
  /** Those records' timestamps and units, so that a resumed pump can compute later positions. */
  window?: Array<[string, number]>;
}

/** How far stored order may stray from timestamp order (it is microseconds in practice). */
export const REORDER_WINDOW_NS = 250_000_000;
const FLOOR_NS = 2 * REORDER_WINDOW_NS;

/** A timestamp as whole seconds and nanoseconds: exact, and no BigInt per message. */
interface Instant {
  sec: number;
  nsec: number;
}

function before(a: Instant, b: Instant): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

function minus(a: Instant, ns: number): Instant {
  let sec = a.sec - Math.floor(ns / 1e9);
  let nsec = a.nsec - (ns % 1e9);
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  return { sec, nsec };
}

export function parseInstant(ts: string): Instant | undefined {
  const since = sinceParam(ts);
  if (!since) return undefined;
  const [sec, nsec] = since.split('.');
  return { sec: Number(sec), nsec: Number(nsec) };
}

export function formatInstant(t: Instant): string {
  return `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec).padStart(9, '0')}Z`;
}

/**
 * The records written within the reorder window of the latest one, in a ring of typed arrays (no
 * object per line). position() sums the units at or after `since`.
 */
class RecentRecords {
  private sec = new Float64Array(1024);
  private nsec = new Float64Array(1024);
  private units = new Float64Array(1024);
  private head = 0;
  private size = 0;
  latest: Instant | undefined;

  /** minus(latest, 2 * REORDER_WINDOW_NS), kept beside latest: add() runs per line. */
  private floorSec = 0;
  private floorNsec = 0;

  add(sec: number, nsec: number, units: number): void {
    const l = this.latest;
    if (!l || sec > l.sec || (sec === l.sec && nsec > l.nsec)) {
      if (l) {
        l.sec = sec;
        l.nsec = nsec;
      } else this.latest = { sec, nsec };
      // minus() without its object.
      let fSec = sec - Math.floor(FLOOR_NS / 1e9);
      let fNsec = nsec - (FLOOR_NS % 1e9);
      if (fNsec < 0) {
        fNsec += 1e9;
        fSec -= 1;
      }
      this.floorSec = fSec;
      this.floorNsec = fNsec;
    }
    // Drop from the oldest stored while they are older than twice the window: nothing later stored
    // can be counted against them any more.
    const fs = this.floorSec;
    const fn = this.floorNsec;
    while (this.size > 0) {
      const h = this.head;
      if (!(this.sec[h] < fs || (this.sec[h] === fs && this.nsec[h] < fn))) break;
      this.head = (h + 1) % this.sec.length;
      this.size--;
    }
    if (this.size === this.sec.length) this.grow();
    const at = (this.head + this.size) % this.sec.length;
    this.sec[at] = sec;
    this.nsec[at] = nsec;
    this.units[at] = units;
    this.size++;
  }

  private grow(): void {
    const n = this.sec.length * 2;
    const [s, ns, u] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.sec.length;
      s[i] = this.sec[k];
      ns[i] = this.nsec[k];
      u[i] = this.units[k];
    }
    [this.sec, this.nsec, this.units, this.head] = [s, ns, u, 0];
  }

  position(): ResumePoint | undefined {
    if (!this.latest) return undefined;
    const since = minus(this.latest, REORDER_WINDOW_NS);
    let units = 0;
    const window: Array<[string, number]> = [];
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.sec.length;
      const t = { sec: this.sec[k], nsec: this.nsec[k] };
      if (before(t, since)) continue;
      units += this.units[k];
      window.push([formatInstant(t), this.units[k]]);
    }
    return { ts: formatInstant(since), units, window };
  }
}

/**
 * Turns Docker log messages into CRI records, collecting them in one buffer per batch so that a
 * chunk of many small lines becomes one write.
 */
export class CriEncoder {
  /** Records are appended at outLen; [outStart, outLen) is the batch not yet taken. */
  private out: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private outStart = 0;
  private outLen = 0;
  private lastTs = Buffer.alloc(MAX_TS);
  private lastTsLen = 0;
  private recent = new RecentRecords();
  private skipUnits = 0;
  /** Seconds of the last timestamp's `YYYY-MM-DDTHH:MM:SS` prefix, parsed once per second of output. */
  private secPrefix = Buffer.alloc(19);
  private secValue = NaN;
  /** Per stream: did its last record leave a line open (P)? */
  private open: [boolean, boolean, boolean] = [false, false, false];
  /** Records written, for tests and metrics. */
  records = 0;
  /** Message bytes encoded per stream (index 1 stdout, 2 stderr), for metrics. */
  readonly streamBytes: [number, number, number] = [0, 0, 0];

  /** Makes the next messages skip what `at` says is already written. */
  resumeFrom(at: ResumePoint | undefined): void {
    if (!at) return;
    this.skipUnits = at.units;
    this.recent = new RecentRecords();
    for (const [ts, units] of at.window ?? [[at.ts, at.units]]) {
      const t = parseInstant(ts);
      if (t) this.recent.add(t.sec, t.nsec, units);
    }
  }

  /** What has been encoded so far (written or about to be). */
  position(): ResumePoint | undefined {
    return this.recent.position();
  }

  /** The latest timestamp written, as seconds since the epoch (for lag metrics). */
  latestSeconds(): number | undefined {
    const l = this.recent.latest;
    return l ? l.sec + l.nsec / 1e9 : undefined;
  }

  /** Re-arms skipping at the current position: for reading Docker's stream again from `since`. */
  rewind(): ResumePoint | undefined {
    const at = this.position();
    this.skipUnits = at?.units ?? 0;
    return at;
  }

  /** Set by instant(): the timestamp it read (no object per line). */
  private tSec = 0;
  private tNsec = 0;

  /** Reads a Docker timestamp in buf[start, end) into tSec/tNsec; false if it is not one. */
  private instant(buf: Buffer, start: number, end: number): boolean {
    const len = end - start;
    if (len < 21 || buf[start + 19] !== 0x2e || buf[end - 1] !== 0x5a /* Z */) {
      const t = parseInstant(buf.toString('latin1', start, end));
      if (!t) return false;
      this.tSec = t.sec;
      this.tNsec = t.nsec;
      return true;
    }
    let same = !Number.isNaN(this.secValue);
    for (let i = 0; same && i < 19; i++) same = buf[start + i] === this.secPrefix[i];
    if (!same) {
      const ms = Date.parse(buf.toString('latin1', start, start + 19) + 'Z');
      if (Number.isNaN(ms)) return false;
      buf.copy(this.secPrefix, 0, start, start + 19);
      this.secValue = Math.floor(ms / 1000);
    }
    let nsec = 0;
    let digits = 0;
    for (let i = start + 20; i < end - 1 && digits < 9; i++, digits++) nsec = nsec * 10 + (buf[i] - 0x30);
    for (; digits < 9; digits++) nsec *= 10;
    this.tSec = this.secValue;
    this.tNsec = nsec;
    return true;
  }

  /** One Docker message: `<ts> <content>[\n]` in buf[start, end). */
  message(stream: StreamId, buf: Buffer, start: number, end: number): void {
    const sp = buf.indexOf(SPACE, start);
    if (sp < 0 || sp >= end || sp - start > MAX_TS) {
      // Docker always sends a timestamp; if it ever does not, record the bytes rather than drop them.
      const now = new Date().toISOString().replace('Z', '000000Z');
      const fixed = Buffer.concat([Buffer.from(`${now} `), buf.subarray(start, end)]);
      this.message(stream, fixed, 0, fixed.length);
      return;
    }
    const tsStart = start;
    const tsEnd = sp;
    let from = sp + 1;
    // Frames carry one line each; should one ever carry several, each becomes its own line.
    let nl = buf.indexOf(NL, from);
    while (nl >= 0 && nl < end - 1) {
      this.line(stream, buf, tsStart, tsEnd, buf, from, nl, true);
      from = nl + 1;
      nl = buf.indexOf(NL, from);
    }
    const eol = end > from && buf[end - 1] === NL;
    this.line(stream, buf, tsStart, tsEnd, buf, from, eol ? end - 1 : end, eol);
  }

  /**
   * One line whose parts are known already (the json-file decoder's fast path): timestamp
   * tsBuf[tsStart, tsEnd) as Docker's API writes it, content buf[cStart, cEnd) holding no newline,
   * `eol` when the line ends. The same as message() of `<ts> <content>[\n]`.
   */
  line(
    stream: StreamId,
    tsBuf: Buffer,
    tsStart: number,
    tsEnd: number,
    buf: Buffer,
    cStart: number,
    cEnd: number,
    eol: boolean,
  ): void {
    const tsLen = tsEnd - tsStart;
    let units = cEnd - cStart + (eol ? 1 : 0);
    // Docker cuts a partial message only when its buffer is full; a shorter one without a newline
    // is the output's last bytes (the container exited mid-line): that ends the line.
    const final = eol || cEnd - cStart < DOCKER_PARTIAL_BYTES;
    if (this.skipUnits > 0) {
      // The first messages Docker sends again are the ones already written (see the top).
      if (units <= this.skipUnits) {
        this.skipUnits -= units;
        return;
      }
      // Part of this message is already in the file (killed between its pieces): write the rest.
      cStart += this.skipUnits;
      units -= this.skipUnits;
      this.skipUnits = 0;
    }
    if (this.instant(tsBuf, tsStart, tsEnd)) this.recent.add(this.tSec, this.tNsec, units);
    copyShort(tsBuf, tsStart, tsEnd, this.lastTs, 0);
    this.lastTsLen = tsLen;
    const streamKey = stream === STDERR ? 2 : 1;
    this.streamBytes[streamKey] += cEnd - cStart;
    do {
      const take = Math.min(MAX_RECORD_BYTES, cEnd - cStart);
      const last = cStart + take >= cEnd;
      const partial = !(last && final);
      this.ensure(tsLen + HEAD_LEN + take + 1);
      const o = this.out;
      let p = this.outLen;
      p += copyShort(tsBuf, tsStart, tsEnd, o, p);
      const head = HEAD_BY_KEY[streamKey * 2 + (partial ? 1 : 0)];
      p += copyShort(head, 0, HEAD_LEN, o, p);
      p += copyShort(buf, cStart, cStart + take, o, p);
      o[p++] = NL;
      this.outLen = p;
      this.records++;
      this.open[streamKey] = partial;
      cStart += take;
    } while (cStart < cEnd);
  }

  /**
   * The output is over: a stream whose last record was a P gets an empty F, so that readers see the
   * line end (containerd does the same when a stream ends mid-line).
   */
  finish(): void {
    for (const s of [1, 2] as const) {
      if (!this.open[s]) continue;
      const t = parseInstant(this.lastTs.toString('latin1', 0, this.lastTsLen));
      if (t) this.recent.add(t.sec, t.nsec, 1);
      this.ensure(this.lastTsLen + HEAD_LEN + 1);
      let p = this.outLen;
      p += this.lastTs.copy(this.out, p, 0, this.lastTsLen);
      p += HEADS[`${s}F`].copy(this.out, p);
      this.out[p++] = NL;
      this.outLen = p;
      this.records++;
      this.open[s] = false;
    }
  }

  /** Bytes encoded and not yet taken. */
  pendingBytes(): number {
    return this.outLen - this.outStart;
  }

  /** The records encoded since the last take, as one buffer; undefined when there are none. */
  take(): Buffer | undefined {
    if (this.outLen === this.outStart) return undefined;
    // The taken range belongs to the writer from now on; later batches go after it, like a bump
    // allocator, so that a slow trickle of lines does not cost a fresh buffer per line.
    const done = this.out.subarray(this.outStart, this.outLen);
    this.outStart = this.outLen;
    return done;
  }

  private ensure(extra: number): void {
    if (this.outLen + extra <= this.out.length) return;
    const pending = this.outLen - this.outStart;
    const next = Buffer.allocUnsafe(Math.max(BATCH_BYTES, 2 * (pending + extra)));
    this.out.copy(next, 0, this.outStart, this.outLen);
    this.out = next;
    this.outStart = 0;
    this.outLen = pending;
  }
}

export interface CriRecord {
  ts: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  /** Byte range of the message within the buffer it was parsed from. */
  start: number;
  end: number;
}

/** Parses one record (without its newline) from buf[start, end); undefined when it is not one. */
export function parseRecord(buf: Buffer, start: number, end: number): CriRecord | undefined {
  const sp1 = buf.indexOf(SPACE, start);
  if (sp1 < 0 || sp1 >= end || sp1 === start) return undefined;
  const s = buf.toString('latin1', sp1 + 1, Math.min(end, sp1 + 7));
  if ((s !== 'stdout' && s !== 'stderr') || buf[sp1 + 7] !== SPACE) return undefined;
  const tag = buf[sp1 + 8];
  if ((tag !== 0x46 && tag !== 0x50) || sp1 + 9 > end) return undefined;
  if (sp1 + 9 < end && buf[sp1 + 9] !== SPACE) return undefined;
  return {
    ts: buf.toString('latin1', start, sp1),
    stream: s,
    partial: tag === 0x50,
    start: Math.min(end, sp1 + 10),
    end,
  };
}

/** Units a record stands for in a ResumePoint. */
export function recordUnits(r: CriRecord): number {
  return r.end - r.start + (r.partial ? 0 : 1);
}

/**
 * Reads a log file's records backwards, from its end or on from a newer file's start, until it is
 * past the reorder window; result() is the position they amount to.
 */
export class TailScanner {
  private records: Array<[Instant, string, number]> = [];
  private latest: Instant | undefined;
  private stopped = false;

  /**
   * `buf`: the file's last bytes, ending with a newline. 'more' asks for more of the file before buf;
   * 'start' means the whole file was read and the window may go on in an older file; 'done' means
   * the window is complete (or the records end in something that is not a CRI record).
   */
  feed(buf: Buffer, atFileStart: boolean): 'more' | 'start' | 'done' {
    if (this.stopped) return 'done';
    let end = buf.length;
    const found: Array<[Instant, string, number]> = [];
    let result: 'more' | 'start' | 'done' = atFileStart ? 'start' : 'more';
    while (end > 0) {
      const nlBefore = end >= 2 ? buf.lastIndexOf(NL, end - 2) : -1;
      if (nlBefore < 0 && !atFileStart) break;
      const start = nlBefore + 1;
      const rec = parseRecord(buf, start, end - 1);
      const t = rec && parseInstant(rec.ts);
      if (!rec || !t) {
        result = 'done';
        break;
      }
      if (!this.latest || before(this.latest, t)) this.latest = t;
      if (before(t, minus(this.latest, 2 * REORDER_WINDOW_NS))) {
        result = 'done';
        break;
      }
      found.push([t, rec.ts, recordUnits(rec)]);
      end = start;
    }
    if (result === 'more') {
      // The records of this buffer will be seen again with more of the file before them.
      this.latest = this.records.reduce<Instant | undefined>(
        (l, [t]) => (!l || before(l, t) ? t : l),
        undefined,
      );
      return 'more';
    }
    this.records.push(...found);
    if (result === 'done') this.stopped = true;
    return result;
  }

  result(): ResumePoint | undefined {
    if (!this.latest) return undefined;
    const since = minus(this.latest, REORDER_WINDOW_NS);
    let units = 0;
    const window: Array<[string, number]> = [];
    // Oldest first, as they were written.
    for (let i = this.records.length - 1; i >= 0; i--) {
      const [t, ts, u] = this.records[i];
      if (before(t, since)) continue;
      units += u;
      window.push([ts, u]);
    }
    return { ts: formatInstant(since), units, window };
  }
}

/** One buffer's worth of scanTail, for callers that have the whole tail in memory. */
export function scanTail(buf: Buffer, atFileStart: boolean): ResumePoint | 'more' | undefined {
  const s = new TailScanner();
  const r = s.feed(buf, atFileStart);
  return r === 'more' ? 'more' : s.result();
}

/** Docker's `since` for a record timestamp: `<unix seconds>.<nanoseconds>`. */
export function sinceParam(ts: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return `${Math.floor(ms / 1000)}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Orders two record timestamps by time (Docker's are fixed-width UTC, but do not rely on it). */
export function compareTs(a: string, b: string): number {
  const sa = sinceParam(a);
  const sb = sinceParam(b);
  if (!sa || !sb) return a < b ? -1 : a > b ? 1 : 0;
  const [a1, a2] = sa.split('.');
  const [b1, b2] = sb.split('.');
  if (a1 !== b1) return Number(a1) - Number(b1);
  return a2 < b2 ? -1 : a2 > b2 ? 1 : 0;
}
