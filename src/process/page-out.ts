/**
 * Hands the start-up pages of docker-cri's own executable back to the kernel.
 *
 * The single executable is node with the bundle injected: some 150 MB of file that the process maps
 * and reads from. Start-up touches far more of it than the running process needs again: node's and
 * V8's start-up snapshots, the code cache and sources of the built-in modules it loads, the bundle
 * itself (V8 keeps its own copy), and the machine code of every path start-up and a burst of pod
 * changes ran. Those pages stay resident, counted in RSS, until the kernel needs the memory. Measured
 * with node and the five libraries docker-cri is built on, idle (Node 26, kernel 6.18): 45.2 MiB of
 * the executable's pages resident, 16.3 MiB once these were dropped and the process had touched what
 * it still uses.
 *
 * madvise(MADV_PAGEOUT) reclaims them: the kernel drops the clean file pages that no other process
 * maps, from our page tables and from the page cache, so the memory is free for the node and not
 * only hidden from our RSS (MADV_DONTNEED would only do the latter, and is never used here). A page
 * used again is read back from the file: a few MiB once after each reclaim, where the burst's code
 * was. Only mappings of the executable that are not writable and hold no private (copied-on-write)
 * page are touched, so nothing this process wrote can be lost, and other files (libc, the engine's
 * files) are left alone. Kernels before 5.4 refuse the advice: then this does nothing.
 */
import fs from 'fs';
import { libc } from './libc';

/** A range of the executable's mapping that holds only file pages, and how much of it is resident. */
export interface FileRange {
  start: bigint;
  length: bigint;
  residentKiB: number;
}

/** Identifies the executable's mappings: its inode (also when dpkg replaced the file), else its path. */
export interface MappedFile {
  inode: number;
  path: string;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (\d+)\s*(.*)$/;

/**
 * The ranges of `file` in /proc/<pid>/smaps text that may be paged out: read-only or executable
 * mappings of that file with no anonymous (copied-on-write) page, e.g. not the relocation data the
 * loader wrote before making it read-only.
 */
export function pageableRanges(smaps: string, file: MappedFile): FileRange[] {
  const out: FileRange[] = [];
  let current: (FileRange & { anonymous: number; ours: boolean; writable: boolean }) | undefined;
  const flush = (): void => {
    if (current && current.ours && !current.writable && current.anonymous === 0 && current.residentKiB > 0) {
      out.push({ start: current.start, length: current.length, residentKiB: current.residentKiB });
    }
    current = undefined;
  };
  for (const line of smaps.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      flush();
      const start = BigInt(`0x${header[1]}`);
      const end = BigInt(`0x${header[2]}`);
      const inode = Number(header[4]);
      // The kernel writes " (deleted)" after a file that was replaced while mapped (an upgrade).
      const mappedPath = header[5].replace(/ \(deleted\)$/, '');
      current = {
        start,
        length: end - start,
        residentKiB: 0,
        anonymous: 0,
        writable: header[3][1] === 'w',
        ours: inode !== 0 && (inode === file.inode || mappedPath === file.path),
      };
      continue;
    }
    if (!current) continue;
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field?.[1] === 'Rss') current.residentKiB = Number(field[2]);
    else if (field?.[1] === 'Anonymous') current.anonymous = Number(field[2]);
  }
  flush();
  return out;
}

/** The file this process runs from: the single executable, or node under `node dist/src/main.js`. */
export function ownExecutable(): MappedFile | undefined {
  try {
    // /proc/self/exe names the inode that runs, also when the path now holds a newer file.
    return { inode: fs.statSync('/proc/self/exe').ino, path: fs.realpathSync(process.execPath) };
  } catch {
    return undefined;
  }
}

const MADV_PAGEOUT = 21;

/** What one page-out did: the resident KiB of the ranges it advised, and how many it advised. */
export interface PageOutResult {
  ranges: number;
  residentKiB: number;
  refused: number;
}

/**
 * A reclaim step that pages out the executable's start-up pages; undefined where it cannot run
 * (no /proc, or libc.ts cannot load madvise: not Linux, no node:ffi, no glibc).
 */
export function pageOutExecutable(
  deps: {
    readSmaps?: () => string;
    madvise?: (start: bigint, length: bigint, advice: number) => number;
    file?: MappedFile;
  } = {},
): (() => PageOutResult) | undefined {
  const file = deps.file ?? ownExecutable();
  const madvise =
    deps.madvise ?? libc({ madvise: { arguments: ['uint64', 'uint64', 'int32'], return: 'int32' } })?.madvise;
  if (!file || !madvise) return undefined;
  const readSmaps = deps.readSmaps ?? (() => fs.readFileSync('/proc/self/smaps', 'utf8'));
  return () => {
    const ranges = pageableRanges(readSmaps(), file);
    let residentKiB = 0;
    let refused = 0;
    for (const r of ranges) {
      if (madvise(r.start, r.length, MADV_PAGEOUT) === 0) residentKiB += r.residentKiB;
      else refused++;
    }
    return { ranges: ranges.length, residentKiB, refused };
  };
}
