import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import {
  cpuFromFile,
  memoryFromFiles,
  parseMountinfo,
  parseProcCgroup,
  processCount,
  resolveCgroupDirs,
  type CgroupDirs,
  type CgroupMounts,
} from '../translate/stats-cgroup';
import type { CgroupSample } from '../translate/stats-cri';
import { psiFromFiles } from '../translate/stats-psi';

/** A cgroup file read that may fail: a missing file is undefined, not an error. */
async function readOpt(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** One buffer for every synchronous read: cgroup stats files are a few KiB at most. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * Below this, a short read of a seq_file is its end. A seq_file read hands over whole records from
 * a buffer of one page (4 KiB at least), stopping short when the next record does not fit: a read of
 * less than half a page stops short only before a record longer than half a page, which no cgroup or
 * proc file read here has. Longer content is read on to a read of 0 bytes (a node's mountinfo or a
 * host-network pod's net/dev spans pages).
 */
const SURELY_WHOLE = 2048;

/**
 * Reads a whole pseudo-file from an open descriptor (from offset 0 each time). Small files (every
 * cgroup stats file) end at their first short read: asking again only to be told so would double
 * the system calls of every stats reading.
 */
function readFd(fd: number): string {
  let len = 0;
  for (;;) {
    const want = scratch.length - len;
    const n = fs.readSync(fd, scratch, len, want, len);
    len += n;
    if (n === 0 || (n < want && len < SURELY_WHOLE)) break;
    if (len === scratch.length) {
      const bigger = Buffer.allocUnsafe(scratch.length * 2);
      scratch.copy(bigger, 0, 0, len);
      scratch = bigger;
    }
  }
  return scratch.toString('latin1', 0, len);
}

/**
 * A kernel pseudo-file read synchronously. cgroupfs and procfs answer from memory without ever
 * waiting on a disk, so a synchronous read costs microseconds where the promise API costs four
 * thread-pool round trips per file.
 */
export function readPseudoFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return readFd(fd);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A cgroup's stats files, kept open: opening a cgroupfs file costs three times what reading it
 * does (path walk, kernfs open, close), and the kubelet reads every container every 10 s. Open
 * descriptors do not keep a cgroup alive: once it is removed, reads fail (ENODEV) and the reading is
 * undefined, which tells the owner to close().
 */
export class CgroupFiles {
  private fds = new Map<string, number | null>();
  private closed = false;

  constructor(private readonly dirs: CgroupDirs) {}

  /**
   * A file's content; undefined when it cannot be opened or read. Kept by file name alone, which no
   * two of the directories share, so that a reading builds no path once the files are open.
   */
  private get(dir: string, name: string): string | undefined {
    if (this.closed) return undefined;
    let fd = this.fds.get(name);
    if (fd === undefined) {
      try {
        fd = fs.openSync(path.join(dir, name), 'r');
      } catch {
        fd = null;
      }
      this.fds.set(name, fd);
    }
    if (fd === null) return undefined;
    try {
      return readFd(fd);
    } catch {
      return undefined;
    }
  }

  /** One reading; undefined when the memory files are gone (the cgroup was removed). */
  read(atNs: bigint): CgroupSample | undefined {
    const dirs = this.dirs;
    const v = dirs.version;
    const memDir = dirs.memory as string;
    const usage = this.get(memDir, v === 1 ? 'memory.usage_in_bytes' : 'memory.current');
    if (usage === undefined) return undefined;
    const stat = this.get(memDir, 'memory.stat');
    if (stat === undefined) return undefined;
    const limit = this.get(memDir, v === 1 ? 'memory.limit_in_bytes' : 'memory.max');
    const cpu = dirs.cpu ? this.get(dirs.cpu, v === 1 ? 'cpuacct.usage' : 'cpu.stat') : undefined;
    const pids = dirs.pids ? this.get(dirs.pids, 'pids.current') : undefined;
    // Without a pids controller the task list still counts the processes.
    const procs = dirs.pids ? undefined : this.get(memDir, 'cgroup.procs');
    // cgroup v2's pressure files (all controllers share the directory); v1 has none.
    const psi =
      v === 2
        ? psiFromFiles({
            cpu: this.get(memDir, 'cpu.pressure'),
            memory: this.get(memDir, 'memory.pressure'),
            io: this.get(memDir, 'io.pressure'),
          })
        : undefined;
    return {
      atNs,
      cpuNs: cpu === undefined ? undefined : cpuFromFile(v, cpu),
      memory: memoryFromFiles(v, { usage, stat, limit }),
      processes: processCount(pids, procs),
      ...(psi ? { psi } : {}),
    };
  }

  close(): void {
    this.closed = true;
    for (const fd of this.fds.values()) if (fd !== null) fs.closeSync(fd);
    this.fds.clear();
  }
}

/**
 * Finds a process's cgroup directories and reads their stats files. Works from /proc, so it finds
 * the right place under cgroup v1 or v2 and under the cgroupfs or systemd driver alike.
 */
export class CgroupReader {
  private mounts: CgroupMounts | undefined;

  constructor(private readonly procRoot = '/proc') {}

  private async getMounts(): Promise<CgroupMounts> {
    if (!this.mounts) {
      const text = (await readOpt(path.join(this.procRoot, 'self', 'mountinfo'))) ?? '';
      this.mounts = parseMountinfo(text);
    }
    return this.mounts;
  }

  /** The cgroup directories of a running process; undefined when it is gone or nothing is mounted. */
  async locate(pid: number): Promise<CgroupDirs | undefined> {
    if (!(pid > 0)) return undefined;
    const text = await readOpt(path.join(this.procRoot, String(pid), 'cgroup'));
    if (text === undefined) return undefined;
    const dirs = resolveCgroupDirs(parseProcCgroup(text), await this.getMounts());
    if (!dirs?.memory) return undefined;
    // The path is only trustworthy if the directory is visible from here (a foreign cgroup
    // namespace shows paths that do not exist in our mount).
    const probe = dirs.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
    return (await readOpt(path.join(dirs.memory, probe))) === undefined ? undefined : dirs;
  }

  /**
   * One reading of a cgroup. Undefined when its memory file is gone (the cgroup was removed), so
   * that the caller can drop what it cached about it.
   */
  async read(dirs: CgroupDirs, atNs: bigint): Promise<CgroupSample | undefined> {
    const files = new CgroupFiles(dirs);
    try {
      return files.read(atNs);
    } finally {
      files.close();
    }
  }
}

/** The parent cgroup of a container's: where a pod-level cgroup lives when the pod has one. */
export function parentDirs(dirs: CgroupDirs): CgroupDirs {
  const up = (d: string | undefined): string | undefined => (d ? path.dirname(d) : undefined);
  return { version: dirs.version, cpu: up(dirs.cpu), memory: up(dirs.memory), pids: up(dirs.pids) };
}
