import fs from 'fs';
import path from 'path';

/** One hierarchy the process is in, from /proc/self/cgroup: `id:controllers:path`. */
export interface CgroupMembership {
  controllers: string[];
  path: string;
}

/** Parses /proc/<pid>/cgroup. Pure. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m) out.push({ controllers: m[2] === '' ? [] : m[2].split(','), path: m[3] });
  }
  return out;
}

/**
 * The cgroup directories to join for `name`, one per hierarchy. On cgroup v1 every controller
 * hierarchy, but not the ones systemd tracks its units with (name=systemd, and the unified one of
 * a hybrid host): moving there would hide docker-cri from its own unit. On a pure v2 host the one
 * unified hierarchy. Pure.
 */
export function cgroupDirs(
  memberships: readonly CgroupMembership[],
  name: string,
  root = '/sys/fs/cgroup',
): string[] {
  const rel = name.replace(/^\/+/, '');
  const v1 = memberships.filter(
    (m) => m.controllers.length > 0 && !m.controllers.some((c) => c.startsWith('name=')),
  );
  if (v1.length === 0)
    return memberships.some((m) => m.controllers.length === 0) ? [path.join(root, rel)] : [];
  const mounts = new Set<string>();
  for (const m of v1) mounts.add(path.join(root, m.controllers.join(',')));
  return [...mounts].map((mount) => path.join(mount, rel));
}

/** Creates the cgroup where missing (cpuset needs its cpus and mems before it takes a task). */
function ensureCgroup(dir: string): void {
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent)) ensureCgroup(parent);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = path.join(dir, file);
    if (!fs.existsSync(own) || fs.readFileSync(own, 'utf8').trim() !== '') continue;
    fs.writeFileSync(own, fs.readFileSync(path.join(parent, file), 'utf8').trim());
  }
}

/**
 * What cri-dockerd's --runtime-cgroups does for the runtime: run it in that cgroup, created when
 * missing. cri-dockerd also moved dockerd and containerd there with a memory limit; docker-cri
 * never moves or limits processes that are not its own. Returns the directories joined.
 */
export function joinRuntimeCgroup(name: string, pid = process.pid, root = '/sys/fs/cgroup'): string[] {
  const dirs = cgroupDirs(parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')), name, root);
  if (dirs.length === 0) throw new Error('no cgroup hierarchy found in /proc/self/cgroup');
  for (const dir of dirs) {
    try {
      ensureCgroup(dir);
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    } catch (err) {
      throw new Error(`--runtime-cgroups ${name}: cannot join ${dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return dirs;
}
