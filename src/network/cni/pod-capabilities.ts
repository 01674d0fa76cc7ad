import type { PodSandboxConfig__Output } from '../../generated/runtime/v1/PodSandboxConfig';
import type { CapabilityArgs, CniBandwidth, CniPortMapping } from './types';

export const INGRESS_BANDWIDTH = 'kubernetes.io/ingress-bandwidth';
export const EGRESS_BANDWIDTH = 'kubernetes.io/egress-bandwidth';

/** Thrown for pod settings the plugins cannot be given; the message names the field. */
export class PodNetworkInputError extends Error {}

const SUFFIXES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** A Kubernetes quantity such as "10M" or "1Gi" as a number (bits per second here). Pure. */
export function parseQuantity(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)([kMGTP]i?|)\s*$/.exec(text);
  if (!m || !(m[2] in SUFFIXES)) return undefined;
  const n = Math.round(Number(m[1]) * SUFFIXES[m[2]]);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** As the old dockershim did: the bandwidth plugin wants a burst with every rate; "no limit". */
const UNLIMITED_BURST = 2 ** 31 - 1;

function bandwidthOf(annotations: Record<string, string>): CniBandwidth | undefined {
  const out: CniBandwidth = {};
  for (const [key, rate, burst] of [
    [INGRESS_BANDWIDTH, 'ingressRate', 'ingressBurst'],
    [EGRESS_BANDWIDTH, 'egressRate', 'egressBurst'],
  ] as const) {
    const text = annotations[key];
    if (text === undefined || text === '') continue;
    const bits = parseQuantity(text);
    if (bits === undefined) {
      throw new PodNetworkInputError(`annotation ${key}: "${text}" is not a bandwidth quantity like 10M`);
    }
    out[rate] = bits;
    out[burst] = UNLIMITED_BURST;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function portMappingsOf(config: PodSandboxConfig__Output): CniPortMapping[] {
  const out: CniPortMapping[] = [];
  (config.port_mappings ?? []).forEach((pm, i) => {
    // Ports without a host port are informational for the kubelet; only host ports get plumbed.
    if (!pm.host_port) return;
    const field = `config.port_mappings[${i}]`;
    if (pm.host_port < 1 || pm.host_port > 65535) {
      throw new PodNetworkInputError(`${field}.host_port ${pm.host_port} is not a port number`);
    }
    if (!pm.container_port || pm.container_port < 1 || pm.container_port > 65535) {
      throw new PodNetworkInputError(`${field}.container_port ${pm.container_port} is not a port number`);
    }
    const protocol = (String(pm.protocol || 'TCP').toLowerCase() || 'tcp') as CniPortMapping['protocol'];
    const mapping: CniPortMapping = { hostPort: pm.host_port, containerPort: pm.container_port, protocol };
    if (pm.host_ip) mapping.hostIP = pm.host_ip;
    out.push(mapping);
  });
  return out;
}

/**
 * The runtime values for the well-known capabilities, from the pod's config and the node's pod
 * CIDRs (from UpdateRuntimeConfig). Plugins only see those they declare. Pure.
 */
export function capabilityArgsFor(
  config: PodSandboxConfig__Output,
  podCidrs: readonly string[],
): CapabilityArgs {
  const caps: CapabilityArgs = {};
  const portMappings = portMappingsOf(config);
  if (portMappings.length > 0) caps.portMappings = portMappings;
  const bandwidth = bandwidthOf(config.annotations ?? {});
  if (bandwidth) caps.bandwidth = bandwidth;
  // One range set per CIDR: host-local then hands out one address from each (dual stack).
  if (podCidrs.length > 0) caps.ipRanges = podCidrs.map((subnet) => [{ subnet }]);
  const dns = config.dns_config;
  if (dns && (dns.servers?.length || dns.searches?.length || dns.options?.length)) {
    caps.dns = { servers: dns.servers ?? [], searches: dns.searches ?? [], options: dns.options ?? [] };
  }
  return caps;
}

/** CNI_ARGS as the kubelet's runtimes always passed them; IgnoreUnknown lets any plugin accept them. */
export function cniArgsFor(config: PodSandboxConfig__Output, sandboxId: string): Array<[string, string]> {
  const md = config.metadata;
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', md?.namespace ?? ''],
    ['K8S_POD_NAME', md?.name ?? ''],
    ['K8S_POD_INFRA_CONTAINER_ID', sandboxId],
    ['K8S_POD_UID', md?.uid ?? ''],
  ];
}

/** Host-network pods share the node's namespace: nothing for CNI to do. Pure. */
export function usesHostNetwork(config: PodSandboxConfig__Output): boolean {
  const mode = config.linux?.security_context?.namespace_options?.network as unknown;
  return mode === 'NODE' || mode === 2;
}
