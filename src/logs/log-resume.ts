/**
 * Where a pump resumes after a restart: found from what is on disk, never from memory.
 *
 * The log file itself is the record of what was written (a kill -9 loses whatever the position file
 * would not yet say), so its last records are read back. Two cases need more than the current file:
 * - the kubelet renamed the file and we had not yet reopened (or reopened and wrote nothing since):
 *   the newest rotated sibling (`<path>.<timestamp>`, not `.gz`) holds the last records;
 * - at a reopen we write the position reached into `<root>/logs/<id>.pos` (fsync'd), which covers a
 *   rotated file that has since been compressed or removed.
 * The position file is only the last resort: the files say more, and say it exactly.
 */
import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import { TailScanner, type ResumePoint } from './cri-format';

const { O_RDONLY, O_RDWR, O_NOFOLLOW } = fs.constants;
const NL = 0x0a;
const CHUNK = 64 * 1024;

export interface PosFile {
  at?: ResumePoint;
  /** The container's output has been written completely (it had exited when the stream ended). */
  done?: boolean;
}

/**
 * Feeds a CRI log file's last records to `scanner` (see TailScanner); 'missing' when there is no
 * file or nothing in it. A torn last line (killed in the middle of a write) is cut off when `repair`
 * is set, so appends start clean.
 */
export async function scanFile(
  scanner: TailScanner,
  file: string,
  repair: boolean,
): Promise<'missing' | 'start' | 'done'> {
  let fh: fsp.FileHandle;
  try {
    // Never through a link: a path that is one is another runtime's (see log-sink.ts).
    fh = await fsp.open(file, (repair ? O_RDWR : O_RDONLY) | O_NOFOLLOW);
  } catch {
    return 'missing';
  }
  try {
    const size = (await fh.stat()).size;
    // Find the end of the last complete record.
    let end = 0;
    let pos = size;
    let buf = Buffer.alloc(0);
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const piece = Buffer.alloc(len);
      await fh.read(piece, 0, len, pos);
      buf = Buffer.concat([piece, buf]);
      const nl = buf.lastIndexOf(NL);
      if (nl >= 0) {
        end = pos + nl + 1;
        buf = buf.subarray(0, nl + 1);
        break;
      }
    }
    if (end < size && repair) await fh.truncate(end);
    if (end === 0) return 'missing';
    for (;;) {
      const r = scanner.feed(buf, pos === 0);
      if (r !== 'more') return r;
      const len = Math.min(Math.max(CHUNK, buf.length), pos);
      pos -= len;
      const piece = Buffer.alloc(len);
      await fh.read(piece, 0, len, pos);
      buf = Buffer.concat([piece, buf]);
    }
  } finally {
    await fh.close();
  }
}

/** The newest rotated file the kubelet left beside `file` that is still plain text. */
export async function newestRotated(file: string): Promise<string | undefined> {
  const dir = path.dirname(file);
  const base = path.basename(file) + '.';
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return undefined;
  }
  // The kubelet's suffix is a timestamp (YYYYMMDD-hhmmss): newest sorts last.
  const rotated = names.filter((n) => n.startsWith(base) && !n.endsWith('.gz') && !n.endsWith('.tmp')).sort();
  return rotated.length ? path.join(dir, rotated[rotated.length - 1]) : undefined;
}

export async function readPos(file: string): Promise<PosFile> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as PosFile;
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** Written whole and fsync'd, then renamed into place: a crash leaves the old or the new, never half. */
export async function writePos(file: string, pos: PosFile): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(pos));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

/** The position to resume `logPath` from; undefined means from the beginning of the output. */
export async function findResumePoint(logPath: string, posFile: string): Promise<ResumePoint | undefined> {
  const scanner = new TailScanner();
  const current = await scanFile(scanner, logPath, true);
  if (current !== 'done') {
    // Nothing here, or the window reaches back past this file's start: on in the file before it.
    const rotated = await newestRotated(logPath);
    const older = rotated ? await scanFile(scanner, rotated, false) : 'missing';
    if (current === 'missing' && older === 'missing') return (await readPos(posFile)).at;
  }
  return scanner.result();
}
