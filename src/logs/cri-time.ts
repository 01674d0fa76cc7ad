/**
 * Timestamps of log records and the resume position built from them. Pure: no I/O.
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
export const FLOOR_NS = 2 * REORDER_WINDOW_NS;

/** A timestamp as whole seconds and nanoseconds: exact, and no BigInt per message. */
export interface Instant {
  sec: number;
  nsec: number;
}

export function before(a: Instant, b: Instant): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

export function minus(a: Instant, ns: number): Instant {
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
