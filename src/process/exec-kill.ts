import fs from 'fs';
import type { Engine } from '../docker/engine';
import { logger } from '../logger';

/** The parent pid from a /proc/<pid>/stat line (the command name may hold spaces and parens). */
export function parentPidOf(stat: string): number | undefined {
  return statField(stat, 4);
}

/** Field `n` (1-based, as in proc(5)) of a /proc/<pid>/stat line, numeric fields only. Pure. */
function statField(stat: string, n: number): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields after the command name start with field 3 (state)
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(' ');
  const value = Number(fields[n - 3]);
  return Number.isInteger(value) ? value : undefined;
}

/** What makes a process the container's: the pid and mount namespaces of the container's init. */
export interface ContainerOwner {
  pidNs: string;
  mntNs: string;
}

/** A process as seen at one moment: its pid and start time, which together never repeat. */
interface ProcessIdentity {
  pid: number;
  startTime: number;
}

async function readStat(pid: number): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
}

/** The namespaces of `pid` (the container's init process), undefined when it is gone. */
export async function ownerOf(pid: number): Promise<ContainerOwner | undefined> {
  try {
    const [pidNs, mntNs] = await Promise.all([
      fs.promises.readlink(`/proc/${pid}/ns/pid`),
      fs.promises.readlink(`/proc/${pid}/ns/mnt`),
    ]);
    return { pidNs, mntNs };
  } catch {
    return undefined;
  }
}

/**
 * Whether `proc` still is the process we listed and lives in the container's namespaces. A pid
 * the container's process left behind may already belong to a host process: its namespaces (or
 * its start time) differ then, and it is left alone.
 */
async function stillOwned(proc: ProcessIdentity, owner: ContainerOwner): Promise<boolean> {
  const stat = await readStat(proc.pid);
  if (stat === undefined || statField(stat, 22) !== proc.startTime) return false;
  const now = await ownerOf(proc.pid);
  return now !== undefined && now.pidNs === owner.pidNs && now.mntNs === owner.mntNs;
}

/** Reads /proc without blocking the event loop: a few files at a time, so gRPC calls keep flowing. */
async function parentsByPid(): Promise<Map<number, { ppid: number; startTime: number }>> {
  const names = (await fs.promises.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  const out = new Map<number, { ppid: number; startTime: number }>();
  const BATCH = 64;
  for (let i = 0; i < names.length; i += BATCH) {
    await Promise.all(
      names.slice(i, i + BATCH).map(async (name) => {
        const stat = await readStat(Number(name));
        if (stat === undefined) return;
        const ppid = parentPidOf(stat);
        const startTime = statField(stat, 22);
        if (ppid !== undefined && startTime !== undefined) out.set(Number(name), { ppid, startTime });
      }),
    );
  }
  return out;
}

/** `pid` and every process below it, from the host's /proc. */
async function processTree(pid: number): Promise<ProcessIdentity[]> {
  const procs = await parentsByPid();
  const children = new Map<number, number[]>();
  for (const [p, { ppid }] of procs) {
    const list = children.get(ppid) ?? [];
    list.push(p);
    children.set(ppid, list);
  }
  const out: ProcessIdentity[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    const info = procs.get(p);
    if (info) out.push({ pid: p, startTime: info.startTime });
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * Signals each of `pids` that is still the container's (namespaces of its init, same start time
 * as when listed), checked right before each signal; others are skipped. Returns the pids
 * signalled. Exported so tests can hand it a pid that a host process has taken over.
 */
export async function signalOwned(
  procs: ReadonlyArray<number | ProcessIdentity>,
  owner: ContainerOwner,
  sig: NodeJS.Signals,
): Promise<number[]> {
  const done: number[] = [];
  for (const p of procs) {
    let proc: ProcessIdentity | undefined;
    if (typeof p === 'number') {
      const stat = await readStat(p);
      const startTime = stat === undefined ? undefined : statField(stat, 22);
      proc = startTime === undefined ? undefined : { pid: p, startTime };
    } else proc = p;
    if (!proc || !(await stillOwned(proc, owner))) continue;
    signal(proc.pid, sig);
    done.push(proc.pid);
  }
  return done;
}

/**
 * Kills an exec'd process and everything it started, as long as they are the container's. The
 * tree is frozen first (SIGSTOP, repeated until it stops growing) so nothing forks away between
 * listing and killing; children left behind would be re-parented to the pod's init and live on,
 * which is the known pain of exec probes with a timeout.
 */
export async function killProcessTree(pid: number, owner: ContainerOwner): Promise<number[]> {
  let tree: ProcessIdentity[] = [];
  for (let round = 0; round < 5; round++) {
    const next = (await processTree(pid)).filter((p) => !tree.some((t) => t.pid === p.pid));
    if (next.length === 0) break;
    await signalOwned(next, owner, 'SIGSTOP');
    tree = tree.concat(next);
  }
  return signalOwned(tree, owner, 'SIGKILL');
}

const PID_POLL_MS = 20;
const PID_POLL_TRIES = 50;

/**
 * Kills a Docker exec's process tree if it still runs (Docker has no call for that). Docker may not
 * have recorded the pid yet right after the start, so it is asked again briefly. Never throws: the
 * pids killed, empty when the exec had ended or could not be looked up.
 */
export async function killExec(
  engine: Pick<Engine, 'inspectExec' | 'inspectContainer'>,
  execId: string,
  context: string,
  why: string,
): Promise<number[]> {
  try {
    const inspect = () => engine.inspectExec(execId, { context });
    let info = await inspect();
    for (let i = 0; info.Running && !info.Pid && i < PID_POLL_TRIES; i++) {
      await new Promise((r) => setTimeout(r, PID_POLL_MS));
      info = await inspect();
    }
    if (!info.Running || !info.Pid) return [];
    const container = await engine.inspectContainer(info.ContainerID, { context });
    const owner = container.State.Pid ? await ownerOf(container.State.Pid) : undefined;
    if (!owner) {
      logger.warn('exec not killed: the container has no running init to check its processes against', {
        context,
        exec_id: execId,
      });
      return [];
    }
    const killed = await killProcessTree(info.Pid, owner);
    logger.info('exec killed', { context, exec_id: execId, why, pids: killed });
    return killed;
  } catch (err) {
    logger.warn('could not kill exec process', { context, exec_id: execId, error: (err as Error).message });
    return [];
  }
}
