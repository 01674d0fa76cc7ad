import path from 'path';
import { parseNetDev, type NetInterfaceSample } from '../translate/stats-net';
import { readPseudoFile } from './cgroups';

/**
 * The interfaces of a process's network namespace: /proc/<pid>/net/dev shows the namespace of
 * that process, so the pause process gives the pod's own counters without entering anything.
 */
export async function readNetDev(pid: number, procRoot = '/proc'): Promise<NetInterfaceSample[] | undefined> {
  if (!(pid > 0)) return undefined;
  const text = readPseudoFile(path.join(procRoot, String(pid), 'net', 'dev'));
  return text === undefined ? undefined : parseNetDev(text);
}
