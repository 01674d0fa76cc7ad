/**
 * The CRI log format, written and read back. Pure: no I/O.
 *
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <message>\n
 *
 * `F` ends a line; `P` is a piece of a longer line whose later pieces follow. Docker's own timestamps
 * are kept: they are the resume key after a restart (`since=<timestamp>`).
 *
 * Resume position: the last timestamp written and how many "units" of messages with exactly that
 * timestamp were written (content bytes, plus one for each line end). Docker returns messages at
 * `since` inclusively and in the order it stored them, so skipping that many units of messages at
 * that timestamp lands exactly after the last byte written: nothing lost, nothing twice, even when a
 * long line was cut in the middle of its pieces.
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
const BATCH_BYTES = 64 * 1024;

export interface ResumePoint {
  /** Docker's RFC3339Nano timestamp of the last record written. */
  ts: string;
  /** Units (content bytes + 1 per F record) written with exactly that timestamp. */
  units: number;
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
  private lastUnits = 0;
  private skipTs = Buffer.alloc(MAX_TS);
  private skipTsLen = 0;
  private skipUnits = 0;
  /** Per stream: did its last record leave a line open (P)? */
  private open: [boolean, boolean, boolean] = [false, false, false];
  /** Records written, for tests and metrics. */
  records = 0;
  /** Message bytes encoded per stream (index 1 stdout, 2 stderr), for metrics. */
  readonly streamBytes: [number, number, number] = [0, 0, 0];

  /** Makes the next messages skip what `at` says is already written. */
  resumeFrom(at: ResumePoint | undefined): void {
    if (!at) return;
    const ts = Buffer.from(at.ts);
    if (ts.length > MAX_TS) return;
    ts.copy(this.skipTs);
    this.skipTsLen = ts.length;
    this.skipUnits = at.units;
    ts.copy(this.lastTs);
    this.lastTsLen = ts.length;
    this.lastUnits = at.units;
  }

  /** What has been encoded so far (written or about to be). */
  position(): ResumePoint | undefined {
    if (this.lastTsLen === 0) return undefined;
    return { ts: this.lastTs.toString('latin1', 0, this.lastTsLen), units: this.lastUnits };
  }

  /** Re-arms skipping at the current position: for reading Docker's stream again from `since`. */
  rewind(): ResumePoint | undefined {
    const at = this.position();
    this.resumeFrom(at);
    return at;
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
      this.line(stream, buf, tsStart, tsEnd, from, nl, true);
      from = nl + 1;
      nl = buf.indexOf(NL, from);
    }
    const eol = end > from && buf[end - 1] === NL;
    this.line(stream, buf, tsStart, tsEnd, from, eol ? end - 1 : end, eol);
  }

  private line(
    stream: StreamId,
    buf: Buffer,
    tsStart: number,
    tsEnd: number,
    cStart: number,
    cEnd: number,
    eol: boolean,
  ): void {
    const tsLen = tsEnd - tsStart;
    const units = cEnd - cStart + (eol ? 1 : 0);
    // Docker cuts a partial message only when its buffer is full; a shorter one without a newline
    // is the output's last bytes (the container exited mid-line): that ends the line.
    const final = eol || cEnd - cStart < DOCKER_PARTIAL_BYTES;
    const sameTs = buf.compare(this.lastTs, 0, this.lastTsLen, tsStart, tsEnd) === 0;
    if (this.skipTsLen > 0) {
      if (buf.compare(this.skipTs, 0, this.skipTsLen, tsStart, tsEnd) === 0) {
        if (units <= this.skipUnits) {
          this.skipUnits -= units;
          return;
        }
        // Part of this message is already in the file (killed between its pieces): write the rest.
        cStart += this.skipUnits;
        this.lastUnits -= this.skipUnits;
      }
      this.skipTsLen = 0;
      this.skipUnits = 0;
    }
    if (sameTs) this.lastUnits += units;
    else {
      buf.copy(this.lastTs, 0, tsStart, tsEnd);
      this.lastTsLen = tsLen;
      this.lastUnits = units;
    }
    const streamKey = stream === STDERR ? 2 : 1;
    this.streamBytes[streamKey] += cEnd - cStart;
    do {
      const take = Math.min(MAX_RECORD_BYTES, cEnd - cStart);
      const last = cStart + take >= cEnd;
      const tag = last && final ? 'F' : 'P';
      this.ensure(tsLen + HEAD_LEN + take + 1);
      const o = this.out;
      let p = this.outLen;
      p += buf.copy(o, p, tsStart, tsEnd);
      p += HEADS[`${streamKey}${tag}`].copy(o, p);
      p += buf.copy(o, p, cStart, cStart + take);
      o[p++] = NL;
      this.outLen = p;
      this.records++;
      this.open[streamKey] = tag === 'P';
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
      this.ensure(this.lastTsLen + HEAD_LEN + 1);
      let p = this.outLen;
      p += this.lastTs.copy(this.out, p, 0, this.lastTsLen);
      p += HEADS[`${s}F`].copy(this.out, p);
      this.out[p++] = NL;
      this.outLen = p;
      this.lastUnits += 1;
      this.records++;
      this.open[s] = false;
    }
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

export interface TailScan extends ResumePoint {
  /** Every record of the scanned bytes has this timestamp (earlier ones may be in an older file). */
  allAtTs: boolean;
}

/**
 * Reads a log file's last records backwards from `buf`, the file's last bytes ending with a newline.
 * 'more' asks for more of the file before buf (a record or the run of equal timestamps goes on
 * there); undefined means the last line is not a CRI record.
 */
export function scanTail(buf: Buffer, atFileStart: boolean): TailScan | 'more' | undefined {
  let end = buf.length;
  if (end === 0) return atFileStart ? undefined : 'more';
  let ts: string | undefined;
  let units = 0;
  while (end > 0) {
    const nlBefore = end >= 2 ? buf.lastIndexOf(NL, end - 2) : -1;
    if (nlBefore < 0 && !atFileStart) return 'more';
    const start = nlBefore + 1;
    const rec = parseRecord(buf, start, end - 1);
    if (!rec) return ts === undefined ? undefined : { ts, units, allAtTs: false };
    if (ts === undefined) ts = rec.ts;
    else if (rec.ts !== ts) return { ts, units, allAtTs: false };
    units += recordUnits(rec);
    end = start;
  }
  return ts === undefined ? undefined : { ts, units, allAtTs: true };
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

/** The later of two positions: later timestamp, or more written at the same one. */
export function laterPoint(a: ResumePoint | undefined, b: ResumePoint | undefined): ResumePoint | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = compareTs(a.ts, b.ts);
  if (c !== 0) return c > 0 ? a : b;
  return a.units >= b.units ? a : b;
}
