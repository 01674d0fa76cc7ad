import { criState } from '../src/translate/container-status';
import { rfc3339ToNanos } from '../src/translate/time';

/**
 * The chaos soak's checks, pure: what a numbered-lines log file holds, Docker's multiplexed log
 * stream as lines, and docker-cri's lists and statuses against what Docker itself says.
 */

/** What a CRI log file of numbered lines (1, 2, 3 … one per line) holds. */
export interface NumberedLog {
  /** Complete (F) lines, partial records joined. */
  lines: number;
  /** The highest number seen (0 when none). */
  last: number;
  /** Numbers that appear more than once, with how many extra copies in all. */
  duplicates: number;
  /** Numbers between 1 and `last` that never appear. */
  missing: number;
  /** Lines whose number is not greater than the one before. */
  outOfOrder: number;
  /** Lines that are not a number, or not in CRI format. */
  garbage: number;
}

/** Parses a CRI log file ("<RFC3339Nano> stdout|stderr P|F <text>"); partial records are joined. */
export function criLogLines(text: string): { lines: string[]; garbage: number } {
  const lines: string[] = [];
  let garbage = 0;
  let partial = '';
  for (const record of text.split('\n')) {
    if (record === '') continue;
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/.exec(record);
    if (!m) {
      garbage++;
      continue;
    }
    partial += m[4];
    if (m[3] === 'F') {
      lines.push(partial);
      partial = '';
    }
  }
  if (partial) lines.push(partial);
  return { lines, garbage };
}

export function numberedLog(lines: string[], garbageBefore = 0): NumberedLog {
  const seen = new Map<number, number>();
  let last = 0;
  let prev = 0;
  let outOfOrder = 0;
  let garbage = garbageBefore;
  let count = 0;
  for (const line of lines) {
    if (!/^\d+$/.test(line)) {
      garbage++;
      continue;
    }
    const n = Number(line);
    count++;
    if (n <= prev) outOfOrder++;
    prev = n;
    last = Math.max(last, n);
    seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const c of seen.values()) if (c > 1) duplicates += c - 1;
  let missing = 0;
  for (let n = 1; n <= last; n++) if (!seen.has(n)) missing++;
  return { lines: count, last, duplicates, missing, outOfOrder, garbage };
}

/**
 * For a writer that may still run: the log holds 1 … `before` (Docker's count taken before the file
 * was read) and whatever it holds past that is the next lines, each once, in order. A running
 * writer's file is compared with a count taken before it was read, never after: between the two
 * the writer goes on, and the file would look short by what it wrote meanwhile.
 */
export function logCaughtUp(log: NumberedLog, before: number): boolean {
  return (
    log.last >= before &&
    log.lines === log.last &&
    log.duplicates === 0 &&
    log.missing === 0 &&
    log.outOfOrder === 0 &&
    log.garbage === 0
  );
}

/** True when the log holds 1 … `expected` each once, in order, and nothing else. */
export function logComplete(log: NumberedLog, expected: number): boolean {
  return (
    log.last === expected &&
    log.lines === expected &&
    log.duplicates === 0 &&
    log.missing === 0 &&
    log.outOfOrder === 0 &&
    log.garbage === 0
  );
}

/**
 * Docker's non-TTY log stream (8-byte frame headers: stream, 0, 0, 0, length big-endian) as the
 * text of its stdout and stderr lines.
 */
export function demuxDockerLog(buf: Buffer): string[] {
  let text = '';
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off + 4);
    text += buf.subarray(off + 8, off + 8 + len).toString('utf8');
    off += 8 + len;
  }
  return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
}

/** What Docker says of one container (the engine asked directly, not through the proxy). */
export interface DockerTruth {
  id: string;
  sandbox: boolean;
  /** State.Status: created, running, exited, dead … */
  status: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
}

/** What docker-cri says of it. */
export interface CriView {
  /** id → state from ListContainers (containers) or ListPodSandbox (sandboxes). */
  listed: Map<string, string>;
  /** id → ContainerStatus (containers only; `error`: the call failed); absent: lists only. */
  statuses?: Map<
    string,
    { state?: string; exit_code?: number; started_at?: string; finished_at?: string; error?: string }
  >;
}

export interface Mismatch {
  id: string;
  what: string;
  docker: string;
  cri: string;
}

/**
 * Every difference between Docker and docker-cri: a container one lists and the other does not, a
 * state, exit code or start/finish time that differs. Empty when they agree. Without statuses, the
 * lists alone (what docker-cri's index says, untouched by the reads a ContainerStatus makes).
 */
export function compareWithDocker(truth: DockerTruth[], view: CriView): Mismatch[] {
  const out: Mismatch[] = [];
  const known = new Set(truth.map((t) => t.id));
  for (const t of truth) {
    const listed = view.listed.get(t.id);
    if (t.sandbox) {
      const want = t.status === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
      if (listed === undefined)
        out.push({ id: t.id, what: 'ListPodSandbox', docker: t.status, cri: 'absent' });
      else if (listed !== want)
        out.push({ id: t.id, what: 'ListPodSandbox state', docker: want, cri: listed });
      continue;
    }
    const want = criState(t.status);
    if (listed === undefined) out.push({ id: t.id, what: 'ListContainers', docker: t.status, cri: 'absent' });
    else if (listed !== want) out.push({ id: t.id, what: 'ListContainers state', docker: want, cri: listed });
    if (!view.statuses) continue;
    const st = view.statuses.get(t.id);
    if (!st || st.error !== undefined) {
      out.push({ id: t.id, what: 'ContainerStatus', docker: t.status, cri: st?.error ?? 'not asked' });
      continue;
    }
    if (st.state !== want)
      out.push({ id: t.id, what: 'ContainerStatus state', docker: want, cri: String(st.state) });
    const exited = want === 'CONTAINER_EXITED';
    const pairs: Array<[string, string, string]> = [
      ['exit_code', String(exited ? t.exitCode : 0), String(st.exit_code ?? 0)],
      ['started_at', rfc3339ToNanos(t.startedAt), String(st.started_at ?? '0')],
      ['finished_at', exited ? rfc3339ToNanos(t.finishedAt) : '0', String(st.finished_at ?? '0')],
    ];
    for (const [what, d, c] of pairs) {
      // A container that never started (created) reports no start time either way.
      if (d !== c) out.push({ id: t.id, what: `ContainerStatus ${what}`, docker: d, cri: c });
    }
  }
  for (const [id, state] of view.listed) {
    if (!known.has(id)) out.push({ id, what: 'listed but not in Docker', docker: 'absent', cri: state });
  }
  return out;
}
