/**
 * Stats samples (what src/stats/ reads from cgroups, /proc or Docker) → CRI stats messages. Pure.
 */
import type { ContainerStats } from '../generated/runtime/v1/ContainerStats';
import type { CpuUsage } from '../generated/runtime/v1/CpuUsage';
import type { MemoryUsage } from '../generated/runtime/v1/MemoryUsage';
import type { IoUsage } from '../generated/runtime/v1/IoUsage';
import type { NetworkUsage } from '../generated/runtime/v1/NetworkUsage';
import type { NetworkInterfaceUsage } from '../generated/runtime/v1/NetworkInterfaceUsage';
import type { FilesystemUsage } from '../generated/runtime/v1/FilesystemUsage';
import type { ContainerAttributes } from '../generated/runtime/v1/ContainerAttributes';
import type { PodSandboxAttributes } from '../generated/runtime/v1/PodSandboxAttributes';
import type { MemorySample } from './stats-cgroup';
import type { PsiSample } from './stats-psi';
import { defaultInterface, type NetInterfaceSample } from './stats-net';
import { decodeLabels, LABEL_CONTAINER_NAME } from './labels';
import { parseContainerName, parseSandboxName } from './names';

/** One reading of a container's (or a pod's) cgroup. */
export interface CgroupSample {
  /** When it was read, ns since the epoch. */
  atNs: bigint;
  /** Cumulative CPU time, ns. */
  cpuNs?: bigint;
  /** CPU rate since the previous reading, in nanocores. */
  nanoCores?: bigint;
  memory?: MemorySample;
  processes?: bigint;
  /** Pressure stall information; cgroup v2 only. */
  psi?: PsiSample;
}

export interface LayerSample {
  atNs: bigint;
  mountpoint: string;
  bytes: bigint;
  inodes: bigint;
}

const u64 = (v: bigint | undefined): { value: string } | null =>
  v === undefined ? null : { value: v.toString() };

export function cpuUsage(s: CgroupSample): CpuUsage | null {
  if (s.cpuNs === undefined) return null;
  return {
    timestamp: s.atNs.toString(),
    usage_core_nano_seconds: u64(s.cpuNs),
    usage_nano_cores: u64(s.nanoCores),
    ...(s.psi?.cpu ? { psi: s.psi.cpu } : {}),
  };
}

export function memoryUsage(s: CgroupSample): MemoryUsage | null {
  const m = s.memory;
  if (!m) return null;
  return {
    timestamp: s.atNs.toString(),
    working_set_bytes: u64(m.workingSet),
    available_bytes: u64(m.available),
    usage_bytes: u64(m.usage),
    rss_bytes: u64(m.rss),
    page_faults: u64(m.pageFaults),
    major_page_faults: u64(m.majorPageFaults),
    ...(s.psi?.memory ? { psi: s.psi.memory } : {}),
  };
}

/** Block I/O: only its pressure so far (cgroup v2); null without it. */
export function ioUsage(s: CgroupSample): IoUsage | null {
  if (!s.psi?.io) return null;
  return { timestamp: s.atNs.toString(), psi: s.psi.io };
}

export function layerUsage(l: LayerSample | undefined): FilesystemUsage | null {
  if (!l) return null;
  return {
    timestamp: l.atNs.toString(),
    fs_id: { mountpoint: l.mountpoint },
    used_bytes: u64(l.bytes),
    inodes_used: u64(l.inodes),
  };
}

function ifaceUsage(i: NetInterfaceSample): NetworkInterfaceUsage {
  return {
    name: i.name,
    rx_bytes: u64(i.rxBytes),
    rx_errors: u64(i.rxErrors),
    tx_bytes: u64(i.txBytes),
    tx_errors: u64(i.txErrors),
  };
}

export function networkUsage(atNs: bigint, ifaces: NetInterfaceSample[] | undefined): NetworkUsage | null {
  if (!ifaces) return null;
  const def = defaultInterface(ifaces);
  return {
    timestamp: atNs.toString(),
    default_interface: def ? ifaceUsage(def) : null,
    interfaces: ifaces.map(ifaceUsage),
  };
}

/** What the index knows of a container, enough to name it in a stats answer. */
export interface StatsSubject {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export function containerAttributes(c: StatsSubject): ContainerAttributes {
  const { labels, annotations } = decodeLabels(c.labels);
  const parsed = parseContainerName(c.name);
  const attempt = parsed?.attempt ?? 0;
  return {
    id: c.id,
    metadata: { name: c.labels[LABEL_CONTAINER_NAME] ?? parsed?.containerName ?? c.name, attempt },
    labels,
    annotations,
  };
}

export function sandboxAttributes(s: StatsSubject): PodSandboxAttributes {
  const { labels, annotations } = decodeLabels(s.labels, true);
  const parsed = parseSandboxName(s.name);
  return {
    id: s.id,
    metadata: {
      name: s.labels['io.kubernetes.pod.name'] ?? parsed?.name ?? s.name,
      namespace: s.labels['io.kubernetes.pod.namespace'] ?? parsed?.namespace ?? '',
      uid: s.labels['io.kubernetes.pod.uid'] ?? parsed?.uid ?? '',
      attempt: parsed?.attempt ?? 0,
    },
    labels,
    annotations,
  };
}

export function containerStats(
  c: StatsSubject,
  sample: CgroupSample | undefined,
  layer: LayerSample | undefined,
): ContainerStats {
  return {
    attributes: containerAttributes(c),
    cpu: sample ? cpuUsage(sample) : null,
    memory: sample ? memoryUsage(sample) : null,
    writable_layer: layerUsage(layer),
    ...(sample?.psi?.io ? { io: ioUsage(sample) } : {}),
  };
}

/** A pod without a cgroup of its own: the sum of its containers' samples. */
export function sumSamples(atNs: bigint, samples: CgroupSample[]): CgroupSample {
  const out: CgroupSample = { atNs };
  const add = (a: bigint | undefined, b: bigint | undefined): bigint | undefined =>
    a === undefined ? b : b === undefined ? a : a + b;
  for (const s of samples) {
    out.cpuNs = add(out.cpuNs, s.cpuNs);
    out.nanoCores = add(out.nanoCores, s.nanoCores);
    out.processes = add(out.processes, s.processes);
    if (s.memory) {
      const m = out.memory;
      out.memory = m
        ? {
            usage: m.usage + s.memory.usage,
            workingSet: m.workingSet + s.memory.workingSet,
            rss: m.rss + s.memory.rss,
            pageFaults: m.pageFaults + s.memory.pageFaults,
            majorPageFaults: m.majorPageFaults + s.memory.majorPageFaults,
            // Containers' limits do not add up to a pod limit.
            available: undefined,
          }
        : { ...s.memory, available: undefined };
    }
  }
  return out;
}
