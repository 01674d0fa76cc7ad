import fs from 'fs/promises';
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
import { psiFromFiles, type PsiSample } from '../translate/stats-psi';

/** A cgroup file read that may fail: a missing file is undefined, not an error. */
async function readOpt(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** cgroup v2's pressure files (all controllers share the directory); v1 has none. */
async function readPressure(dir: string): Promise<PsiSample | undefined> {
  const [cpu, memory, io] = await Promise.all(
    ['cpu.pressure', 'memory.pressure', 'io.pressure'].map((f) => readOpt(path.join(dir, f))),
  );
  return psiFromFiles({ cpu, memory, io });
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
    const v = dirs.version;
    const memDir = dirs.memory as string;
    const [usage, stat, limit, cpu, pids, procs] = await Promise.all([
      readOpt(path.join(memDir, v === 1 ? 'memory.usage_in_bytes' : 'memory.current')),
      readOpt(path.join(memDir, 'memory.stat')),
      readOpt(path.join(memDir, v === 1 ? 'memory.limit_in_bytes' : 'memory.max')),
      dirs.cpu ? readOpt(path.join(dirs.cpu, v === 1 ? 'cpuacct.usage' : 'cpu.stat')) : undefined,
      dirs.pids ? readOpt(path.join(dirs.pids, 'pids.current')) : undefined,
      // Without a pids controller the task list still counts the processes.
      dirs.pids ? undefined : readOpt(path.join(memDir, 'cgroup.procs')),
    ]);
    if (usage === undefined || stat === undefined) return undefined;
    const psi = v === 2 ? await readPressure(memDir) : undefined;
    return {
      atNs,
      cpuNs: cpu === undefined ? undefined : cpuFromFile(v, cpu),
      memory: memoryFromFiles(v, { usage, stat, limit }),
      processes: processCount(pids, procs),
      ...(psi ? { psi } : {}),
    };
  }
}

/** The parent cgroup of a container's: where a pod-level cgroup lives when the pod has one. */
export function parentDirs(dirs: CgroupDirs): CgroupDirs {
  const up = (d: string | undefined): string | undefined => (d ? path.dirname(d) : undefined);
  return { version: dirs.version, cpu: up(dirs.cpu), memory: up(dirs.memory), pids: up(dirs.pids) };
}
