/**
 * cAdvisor-style metrics for ListMetricDescriptors / ListPodSandboxMetrics, from the same samples
 * as the stats calls. Names follow cAdvisor (what the kubelet exposes for pods); CRI metric values
 * are integers, so CPU time is carried in nanoseconds. Pure.
 */
import type { MetricDescriptor } from '../generated/runtime/v1/MetricDescriptor';
import type { Metric } from '../generated/runtime/v1/Metric';
import type { CgroupSample, LayerSample } from './stats-cri';
import type { NetInterfaceSample } from './stats-net';

const BASE = ['id', 'name', 'image'];
const NET = [...BASE, 'interface'];

type Kind = 'COUNTER' | 'GAUGE';
interface Def {
  name: string;
  help: string;
  keys: string[];
  kind: Kind;
}

const DEFS: Def[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative CPU time consumed, in nanoseconds (CRI metric values are integers).',
    keys: BASE,
    kind: 'COUNTER',
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage, including all memory.',
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set: memory usage minus inactive file cache.',
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_memory_rss',
    help: 'Size of RSS (anonymous memory) in bytes.',
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_memory_page_faults_total',
    help: 'Cumulative count of page faults.',
    keys: BASE,
    kind: 'COUNTER',
  },
  {
    name: 'container_memory_major_page_faults_total',
    help: 'Cumulative count of major page faults.',
    keys: BASE,
    kind: 'COUNTER',
  },
  {
    name: 'container_processes',
    help: 'Number of processes running inside the container.',
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_fs_usage_bytes',
    help: "Bytes used by the container's writable layer.",
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_fs_inodes_used',
    help: "Inodes used by the container's writable layer.",
    keys: BASE,
    kind: 'GAUGE',
  },
  {
    name: 'container_network_receive_bytes_total',
    help: 'Cumulative count of bytes received.',
    keys: NET,
    kind: 'COUNTER',
  },
  {
    name: 'container_network_receive_errors_total',
    help: 'Cumulative count of errors encountered while receiving.',
    keys: NET,
    kind: 'COUNTER',
  },
  {
    name: 'container_network_transmit_bytes_total',
    help: 'Cumulative count of bytes transmitted.',
    keys: NET,
    kind: 'COUNTER',
  },
  {
    name: 'container_network_transmit_errors_total',
    help: 'Cumulative count of errors encountered while transmitting.',
    keys: NET,
    kind: 'COUNTER',
  },
];

const BY_NAME = new Map(DEFS.map((d) => [d.name, d]));

export function metricDescriptors(): MetricDescriptor[] {
  return DEFS.map((d) => ({ name: d.name, help: d.help, label_keys: d.keys }));
}

export interface MetricSubject {
  id: string;
  name: string;
  image: string;
}

function metric(name: string, atNs: bigint, labels: string[], value: bigint | undefined): Metric[] {
  if (value === undefined) return [];
  const d = BY_NAME.get(name) as Def;
  return [
    {
      name,
      timestamp: atNs.toString(),
      metric_type: d.kind,
      label_values: labels,
      value: { value: value.toString() },
    },
  ];
}

/** A container's (or a pod's own) CPU, memory, process and filesystem metrics. */
export function cgroupMetrics(
  subject: MetricSubject,
  s: CgroupSample | undefined,
  layer: LayerSample | undefined,
): Metric[] {
  const l = [subject.id, subject.name, subject.image];
  const out: Metric[] = [];
  if (s) {
    out.push(
      ...metric('container_cpu_usage_seconds_total', s.atNs, l, s.cpuNs),
      ...metric('container_memory_usage_bytes', s.atNs, l, s.memory?.usage),
      ...metric('container_memory_working_set_bytes', s.atNs, l, s.memory?.workingSet),
      ...metric('container_memory_rss', s.atNs, l, s.memory?.rss),
      ...metric('container_memory_page_faults_total', s.atNs, l, s.memory?.pageFaults),
      ...metric('container_memory_major_page_faults_total', s.atNs, l, s.memory?.majorPageFaults),
      ...metric('container_processes', s.atNs, l, s.processes),
    );
  }
  if (layer) {
    out.push(
      ...metric('container_fs_usage_bytes', layer.atNs, l, layer.bytes),
      ...metric('container_fs_inodes_used', layer.atNs, l, layer.inodes),
    );
  }
  return out;
}

/** A pod's network metrics, one series per interface. */
export function networkMetrics(
  subject: MetricSubject,
  atNs: bigint,
  ifaces: NetInterfaceSample[] | undefined,
): Metric[] {
  const out: Metric[] = [];
  for (const i of ifaces ?? []) {
    const l = [subject.id, subject.name, subject.image, i.name];
    out.push(
      ...metric('container_network_receive_bytes_total', atNs, l, i.rxBytes),
      ...metric('container_network_receive_errors_total', atNs, l, i.rxErrors),
      ...metric('container_network_transmit_bytes_total', atNs, l, i.txBytes),
      ...metric('container_network_transmit_errors_total', atNs, l, i.txErrors),
    );
  }
  return out;
}
