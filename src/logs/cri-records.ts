/**
 * CRI log records read back (the tail of a file we wrote, for resuming). Pure: no I/O.
 */
import {
  before,
  formatInstant,
  minus,
  parseInstant,
  REORDER_WINDOW_NS,
  type Instant,
  type ResumePoint,
} from './cri-time';

const NL = 0x0a;
const SPACE = 0x20;

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
