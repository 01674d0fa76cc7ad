import fs from 'fs';
import type { DockerClient } from '../docker/client';
import { logger } from '../logger';

/** The parent pid from a /proc/<pid>/stat line (the command name may hold spaces and parens). */
export function parentPidOf(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** `pid` and every process below it, from the host's /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const ppid = parentPidOf(stat);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
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
 * Kills an exec'd process and everything it started. The tree is frozen first (SIGSTOP, repeated
 * until it stops growing) so nothing forks away between listing and killing; children left
 * behind would be re-parented to the pod's init and live on, which is the known pain of exec
 * probes with a timeout.
 */
export function killProcessTree(pid: number): number[] {
  let tree: number[] = [];
  for (let round = 0; round < 5; round++) {
    const next = processTree(pid);
    for (const p of next) signal(p, 'SIGSTOP');
    const grew = next.length !== tree.length;
    tree = next;
    if (!grew) break;
  }
  for (const p of tree) signal(p, 'SIGKILL');
  return tree;
}

const PID_POLL_MS = 20;
const PID_POLL_TRIES = 50;

/**
 * Kills a Docker exec's process tree if it still runs (Docker has no call for that). Docker may not
 * have recorded the pid yet right after the start, so it is asked again briefly. Never throws: the
 * pids killed, empty when the exec had ended or could not be looked up.
 */
export async function killExec(
  docker: DockerClient,
  execId: string,
  context: string,
  why: string,
): Promise<number[]> {
  try {
    const inspect = () => docker.call('exec.inspect', context, (d) => d.getExec(execId).inspect());
    let info = await inspect();
    for (let i = 0; info.Running && !info.Pid && i < PID_POLL_TRIES; i++) {
      await new Promise((r) => setTimeout(r, PID_POLL_MS));
      info = await inspect();
    }
    if (!info.Running || !info.Pid) return [];
    const killed = killProcessTree(info.Pid);
    logger.info('exec killed', { context, exec_id: execId, why, pids: killed });
    return killed;
  } catch (err) {
    logger.warn('could not kill exec process', { context, exec_id: execId, error: (err as Error).message });
    return [];
  }
}
