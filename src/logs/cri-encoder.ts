/**
 * CRI records from Docker log messages. Pure: no I/O.
 *
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <message>\n
 *
 * `F` ends a line; `P` is a piece of a longer line whose later pieces follow. Docker's own timestamps
 * are kept: they are the resume key after a restart (see cri-time.ts).
 */
import { STDERR, type StreamId } from './docker-stream';
import { parseInstant, type ResumePoint } from './cri-time';
import { RecentRecords } from './recent-records';

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
const FIRST_BYTES = 2048;
const EMPTY = Buffer.alloc(0);

/**
 * Turns Docker log messages into CRI records, collecting them in one buffer per batch so that a
 * chunk of many small lines becomes one write.
 */
export class CriEncoder {
  /**
   * Records are appended at outLen; [outStart, outLen) is the batch not yet taken. Allocated on
   * the first record and dropped by release() once everything is taken: a quiet pump holds none.
   */
  private out: Buffer = EMPTY;
  private outStart = 0;
  private outLen = 0;
  private recent = new RecentRecords();
  private skipUnits = 0;
  /**
   * Seconds of the last timestamp's `YYYY-MM-DDTHH:MM:SS` prefix, parsed once per second of output.
   * Allocated with the first timestamp: a quiet pump holds none.
   */
  private secPrefix: Buffer = EMPTY;
  private secValue = NaN;
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
      // Not from Node's shared 8 KiB pool: a slice kept for the pump's life would pin its whole slab.
      if (this.secPrefix.length < 19) this.secPrefix = Buffer.alloc(19);
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
    const streamKey = stream === STDERR ? 2 : 1;
    this.streamBytes[streamKey] += cEnd - cStart;
    do {
      const take = Math.min(MAX_RECORD_BYTES, cEnd - cStart);
      const last = cStart + take >= cEnd;
      // Only a newline ends a line. Output that stops mid-line (`echo -n DONE; exit 1`) stays a P
      // record, as containerd writes it: the kubelet reads an F as its content plus a newline, and
      // the conformance spec on FallbackToLogsOnError wants "DONE", not "DONE\n".
      const partial = !(last && eol);
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
      cStart += take;
    } while (cStart < cEnd);
  }

  /**
   * One batch of decoded messages (see log-source.ts) as the records to append; undefined when it
   * held none.
   */
  encode(batch: { emit(to: CriEncoder): void }): Buffer | undefined {
    batch.emit(this);
    return this.take();
  }

  /**
   * Lets go of the batch buffer when nothing is pending (the source has caught up). Taken batches
   * keep their own reference until written; the next record allocates afresh.
   */
  release(): void {
    if (this.outLen !== this.outStart) return;
    this.out = EMPTY;
    this.outStart = this.outLen = 0;
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
    // A quiet pump's first records go in a small buffer (Node's pool); output that keeps coming
    // grows it to a batch's size.
    const least = this.out.length === 0 ? FIRST_BYTES : BATCH_BYTES;
    const next = Buffer.allocUnsafe(Math.max(least, 2 * (pending + extra)));
    this.out.copy(next, 0, this.outStart, this.outLen);
    this.out = next;
    this.outStart = 0;
    this.outLen = pending;
  }
}
