import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { must, run } from './proc';

/**
 * The kernel tunables a kubelet rewrites at start (protectKernelDefaults is false by default): the
 * run saves them first and puts them back at teardown.
 */
export const KUBELET_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
] as const;

const sysctlPath = (key: string): string => path.join('/proc/sys', ...key.split('.'));

export function readSysctls(): Record<string, string> {
  const saved: Record<string, string> = {};
  for (const key of KUBELET_SYSCTLS) {
    try {
      saved[key] = fs.readFileSync(sysctlPath(key), 'utf8').trim();
    } catch {
      // absent on this kernel: nothing to restore
    }
  }
  return saved;
}

/** Writes back what readSysctls saw; returns the keys that had changed. */
export function restoreSysctls(saved: Record<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(saved)) {
    const p = sysctlPath(key);
    if (fs.readFileSync(p, 'utf8').trim() !== value) {
      fs.writeFileSync(p, value);
      changed.push(key);
    }
  }
  return changed;
}

/** A bridge of our own with one private address (the node IP and the pod subnet's gateway). */
export async function addBridge(name: string, cidr: string, netnsArgs: string[] = []): Promise<void> {
  const ip = (...a: string[]) => must('ip', [...netnsArgs, ...a]);
  if ((await run('ip', [...netnsArgs, 'link', 'show', name])).code !== 0)
    await ip('link', 'add', name, 'type', 'bridge');
  await run('ip', [...netnsArgs, 'addr', 'add', cidr, 'dev', name]);
  await ip('link', 'set', name, 'up');
}

export async function deleteLink(name: string, netnsArgs: string[] = []): Promise<void> {
  await run('ip', [...netnsArgs, 'link', 'del', name]);
}

/**
 * br_netfilter passes bridged frames through FORWARD, whose policy the first engine left at DROP:
 * one rule of our own per bridge lets its pods reach each other. Removed at teardown.
 */
export async function allowForward(inIf: string, outIf: string): Promise<void> {
  const rule = ['FORWARD', '-i', inIf, '-o', outIf, '-j', 'ACCEPT'];
  if ((await run('iptables', ['-C', ...rule])).code !== 0) await must('iptables', ['-I', ...rule]);
}

export async function removeForward(inIf: string, outIf: string): Promise<void> {
  const rule = ['FORWARD', '-i', inIf, '-o', outIf, '-j', 'ACCEPT'];
  while ((await run('iptables', ['-D', ...rule])).code === 0) {
    // a rule added twice is removed twice
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** cgroup v1 hierarchies mounted here (cpu, memory, …; "unified" and "systemd" included). */
function hierarchies(): string[] {
  if (fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  return fs
    .readdirSync(CGROUP_ROOT)
    .map((d) => path.join(CGROUP_ROOT, d))
    .filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')) && !fs.lstatSync(d).isSymbolicLink());
}

/**
 * The kubelet's cgroupRoot must exist: one per node, so that its kubepods tree is its own and
 * teardown can remove it whole. cpuset needs its cpus and mems set before tasks can join.
 */
export function makeCgroupRoot(name: string): void {
  for (const h of hierarchies()) {
    const dir = path.join(h, name);
    fs.mkdirSync(dir, { recursive: true });
    if (path.basename(h) === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(h, f)));
    }
  }
}

/** Removes a cgroup tree depth-first; a cgroup still holding a task stays and is reported. */
export function removeCgroupRoot(name: string): string[] {
  const left: string[] = [];
  const rm = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) rm(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  };
  for (const h of hierarchies()) {
    const dir = path.join(h, name);
    if (fs.existsSync(dir)) rm(dir);
  }
  return left;
}

/** Unmounts everything under `dir` (the kubelet's tmpfs volumes, dockerd's overlays), deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** The kubelet links /var/log/containers/*.log to its pod log dir: remove the links into ours. */
export function removeContainerLogLinks(podLogsDir: string): void {
  const dir = '/var/log/containers';
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    try {
      if (fs.readlinkSync(p).startsWith(podLogsDir + '/')) fs.unlinkSync(p);
    } catch {
      // not a link, or gone
    }
  }
}
