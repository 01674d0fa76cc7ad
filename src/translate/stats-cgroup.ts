/**
 * Cgroup bookkeeping as text: where a process's cgroups live (from /proc/<pid>/cgroup and
 * /proc/self/mountinfo) and what their files say. Pure: the reading is done in src/stats/.
 */
import path from 'path';

/** A cgroup hierarchy as this process sees it mounted. */
export interface CgroupMount {
  /** The path inside the hierarchy that is mounted (usually "/"). */
  root: string;
  mountpoint: string;
}

export interface CgroupMounts {
  /** cgroup v1 hierarchies by controller name (cpu, cpuacct, memory, pids, …). */
  v1: Map<string, CgroupMount>;
  /** The cgroup v2 hierarchy, when one is mounted. */
  unified?: CgroupMount;
}

/** Reads the cgroup and cgroup2 entries of /proc/self/mountinfo. */
export function parseMountinfo(text: string): CgroupMounts {
  const out: CgroupMounts = { v1: new Map() };
  for (const line of text.split('\n')) {
    // <id> <parent> <maj:min> <root> <mountpoint> <opts> [optional fields…] - <fstype> <source> <superopts>
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mount = { root: unescapeMount(left[3]), mountpoint: unescapeMount(left[4]) };
    if (fstype === 'cgroup2') {
      // A pure v2 host mounts it at /sys/fs/cgroup; prefer that over a hybrid "unified" mount.
      if (!out.unified || mount.mountpoint === '/sys/fs/cgroup') out.unified = mount;
      continue;
    }
    for (const opt of (right[2] ?? '').split(',')) {
      if (KNOWN_V1.has(opt) && !out.v1.has(opt)) out.v1.set(opt, mount);
    }
  }
  return out;
}

const KNOWN_V1 = new Set(['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'cpuset', 'name=systemd']);

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface ProcCgroups {
  /** v1 controller → path inside its hierarchy. */
  v1: Map<string, string>;
  /** The "0::" line: path inside the v2 hierarchy. */
  unified?: string;
}

/** Parses /proc/<pid>/cgroup ("<id>:<controllers>:<path>" per line). */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: new Map() };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') {
      out.unified = m[3];
      continue;
    }
    for (const c of m[2].split(',')) if (c) out.v1.set(c, m[3]);
  }
  return out;
}

/** The directories whose files give a container's stats. */
export interface CgroupDirs {
  version: 1 | 2;
  cpu?: string;
  memory?: string;
  pids?: string;
}

function under(mount: CgroupMount, cgPath: string): string {
  // A path outside the mounted root (a cgroup namespace boundary) is taken as relative to it.
  const rel =
    mount.root !== '/' && (cgPath === mount.root || cgPath.startsWith(mount.root + '/'))
      ? cgPath.slice(mount.root.length)
      : cgPath;
  return path.join(mount.mountpoint, rel);
}

/**
 * Where a process's cpu, memory and pids files are. v1 wins when its memory controller is mounted
 * (a hybrid host lists a "0::" line too, but the v2 tree there holds no controllers).
 */
export function resolveCgroupDirs(proc: ProcCgroups, mounts: CgroupMounts): CgroupDirs | undefined {
  const mem = proc.v1.get('memory');
  const memMount = mounts.v1.get('memory');
  if (mem !== undefined && memMount) {
    const pick = (controller: string): string | undefined => {
      const p = proc.v1.get(controller);
      const m = mounts.v1.get(controller);
      return p !== undefined && m ? under(m, p) : undefined;
    };
    return { version: 1, cpu: pick('cpuacct'), memory: under(memMount, mem), pids: pick('pids') };
  }
  if (proc.unified !== undefined && mounts.unified) {
    const dir = under(mounts.unified, proc.unified);
    return { version: 2, cpu: dir, memory: dir, pids: dir };
  }
  return undefined;
}

/**
 * The values of `keys` in "key value" lines, found by search rather than by parsing every line: a
 * memory.stat has some 35 lines of which a reading needs four, on every container every 10 s.
 * Same answers as parsing every line (the unit test compares).
 */
export function keyedValues(text: string, keys: readonly string[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const key of keys) {
    const at = lineStart(text, key);
    if (at < 0) continue;
    const end = text.indexOf('\n', at);
    const m = /^\S+\s+(\d+)\s*$/.exec(text.slice(at, end < 0 ? undefined : end));
    if (m) out.set(key, BigInt(m[1]));
  }
  return out;
}

/** Where the line of `key` starts (followed by its separator: "total_rss" is not "total_rss_huge"). */
function lineStart(text: string, key: string): number {
  for (const sep of [' ', '\t']) {
    if (text.startsWith(key + sep)) return 0;
    const nl = text.indexOf(`\n${key}${sep}`);
    if (nl >= 0) return nl + 1;
  }
  return -1;
}

/** A single-number cgroup file; "max" (v2: no limit) and garbage give undefined. */
export function parseSingle(text: string | undefined): bigint | undefined {
  const t = text?.trim();
  if (!t || !/^\d+$/.test(t)) return undefined;
  return BigInt(t);
}

/** Beyond this a memory limit means "none": v1 writes PAGE_COUNTER_MAX rounded to pages. */
const NO_LIMIT = 1n << 62n;

/** Memory numbers in the kubelet's sense. */
export interface MemorySample {
  usage: bigint;
  workingSet: bigint;
  rss: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  /** limit - working set; undefined without a limit. */
  available?: bigint;
}

/** The raw file contents a memory sample is computed from. */
export interface MemoryFiles {
  /** v1 memory.usage_in_bytes or v2 memory.current. */
  usage: string;
  /** memory.stat */
  stat: string;
  /** v1 memory.limit_in_bytes or v2 memory.max; undefined when unreadable. */
  limit?: string;
}

const sub = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);

/** The memory.stat keys a reading takes (v1's "total_" ones include child cgroups). */
const V1_MEMORY_KEYS = ['total_inactive_file', 'total_rss', 'total_pgfault', 'total_pgmajfault'];
const V2_MEMORY_KEYS = ['inactive_file', 'anon', 'pgfault', 'pgmajfault'];

export function memoryFromFiles(version: 1 | 2, files: MemoryFiles): MemorySample | undefined {
  const usage = parseSingle(files.usage);
  if (usage === undefined) return undefined;
  const stat = keyedValues(files.stat, version === 1 ? V1_MEMORY_KEYS : V2_MEMORY_KEYS);
  const get = (k: string): bigint => stat.get(k) ?? 0n;
  // v1 "total_" keys include child cgroups, which matters for pod-level cgroups.
  const inactiveFile = version === 1 ? get('total_inactive_file') : get('inactive_file');
  const workingSet = sub(usage, inactiveFile);
  const limit = parseSingle(files.limit);
  return {
    usage,
    workingSet,
    rss: version === 1 ? get('total_rss') : get('anon'),
    pageFaults: version === 1 ? get('total_pgfault') : get('pgfault'),
    majorPageFaults: version === 1 ? get('total_pgmajfault') : get('pgmajfault'),
    available: limit !== undefined && limit < NO_LIMIT ? sub(limit, workingSet) : undefined,
  };
}

/** Cumulative CPU time in ns: v1 cpuacct.usage is ns, v2 cpu.stat usage_usec is µs. */
export function cpuFromFile(version: 1 | 2, text: string): bigint | undefined {
  if (version === 1) return parseSingle(text);
  const usec = keyedValues(text, ['usage_usec']).get('usage_usec');
  return usec === undefined ? undefined : usec * 1000n;
}

/** pids.current, or the line count of cgroup.procs/tasks when that file is all there is. */
export function processCount(pidsCurrent: string | undefined, procs: string | undefined): bigint | undefined {
  const n = parseSingle(pidsCurrent);
  if (n !== undefined) return n;
  if (procs === undefined) return undefined;
  return BigInt(procs.split('\n').filter((l) => l.trim() !== '').length);
}

/**
 * CPU rate in nanocores between two cumulative samples: ns of CPU per ns of wall time, times 1e9.
 * Undefined without an earlier sample or when the counter went back (a restarted container).
 */
export function nanoCores(
  prev: { cpuNs: bigint; atNs: bigint } | undefined,
  cur: { cpuNs: bigint; atNs: bigint },
): bigint | undefined {
  if (!prev || cur.atNs <= prev.atNs || cur.cpuNs < prev.cpuNs) return undefined;
  return ((cur.cpuNs - prev.cpuNs) * 1_000_000_000n) / (cur.atNs - prev.atNs);
}
