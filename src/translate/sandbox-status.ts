/**
 * Docker's view of a pause container (inspect, or the index's list entry) → CRI PodSandbox and
 * PodSandboxStatus. Sandboxes made by dockershim or cri-dockerd lack our io.docker-cri.* labels;
 * their answers come from the name, the kubelet's labels and HostConfig instead. Pure: no I/O.
 */
import type { ContainerInspectInfo } from 'dockerode';
import type { PodSandbox } from '../generated/runtime/v1/PodSandbox';
import type { PodSandboxStatus } from '../generated/runtime/v1/PodSandboxStatus';
import type { PodSandboxMetadata } from '../generated/runtime/v1/PodSandboxMetadata';
import type { PodSandboxFilter__Output } from '../generated/runtime/v1/PodSandboxFilter';
import type { PodSandboxState__Output } from '../generated/runtime/v1/PodSandboxState';
import type { ListedContainer } from './listed-container';
import {
  decodeLabels,
  isSandboxLabels,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  matchesSelector,
  type Labels,
} from './labels';
import { parseSandboxName } from './names';
import { rfc3339ToNanos, secondsToNanos } from './time';
import {
  LABEL_CREATED_AT,
  LABEL_NAMESPACE_OPTIONS,
  LABEL_RUNTIME_HANDLER,
  LABEL_SANDBOX_METADATA,
  type NsMode,
  type SandboxNamespaces,
} from './sandbox-config';

export interface PodIps {
  ip: string;
  additional_ips: Array<{ ip: string }>;
}

type RequiredMetadata = Required<Pick<PodSandboxMetadata, 'name' | 'namespace' | 'uid' | 'attempt'>>;

/** Our metadata label, else the dockershim name, else the kubelet's own labels. */
export function sandboxMetadata(name: string, labels: Labels): RequiredMetadata {
  const raw = labels[LABEL_SANDBOX_METADATA];
  if (raw) {
    try {
      const m = JSON.parse(raw) as Partial<RequiredMetadata>;
      if (typeof m.name === 'string') {
        return {
          name: m.name,
          namespace: m.namespace ?? '',
          uid: m.uid ?? '',
          attempt: Number(m.attempt ?? 0),
        };
      }
    } catch {
      // a damaged label: fall through to the name
    }
  }
  const parsed = parseSandboxName(name);
  if (parsed) return parsed;
  return {
    name: labels[LABEL_POD_NAME] ?? name.replace(/^\//, ''),
    namespace: labels[LABEL_POD_NAMESPACE] ?? '',
    uid: labels[LABEL_POD_UID] ?? '',
    attempt: 0,
  };
}

export function sandboxState(dockerState: string | undefined): PodSandboxState__Output {
  return dockerState === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

function createdAt(labels: Labels, fallback: string): string {
  const v = labels[LABEL_CREATED_AT];
  return v && /^\d+$/.test(v) ? v : fallback;
}

/** The list entry the index keeps → a PodSandbox (no Docker call). */
export function sandboxFromIndex(c: ListedContainer): PodSandbox {
  const { labels, annotations } = decodeLabels(c.labels, true);
  return {
    id: c.id,
    metadata: sandboxMetadata(c.name, c.labels),
    state: sandboxState(c.state),
    created_at: createdAt(c.labels, secondsToNanos(c.created)),
    labels,
    annotations,
    runtime_handler: c.labels[LABEL_RUNTIME_HANDLER] ?? '',
  };
}

// Index entries are replaced, never changed, when their container changes: one translation each.
const translated = new WeakMap<ListedContainer, PodSandbox>();
function sandboxOf(c: ListedContainer): PodSandbox {
  let out = translated.get(c);
  if (!out) {
    out = sandboxFromIndex(c);
    translated.set(c, out);
  }
  return out;
}

/**
 * CRI ListPodSandbox filtering. An id filter matches the full id or an unambiguous prefix of one
 * (an ambiguous prefix matches nothing, as with any other id the caller cannot mean).
 */
export function filterSandboxes(
  all: readonly ListedContainer[],
  filter: PodSandboxFilter__Output | null,
): PodSandbox[] {
  let entries = all.filter((c) => isSandboxLabels(c.labels));
  if (filter?.id) {
    const exact = entries.filter((c) => c.id === filter.id);
    const byPrefix = exact.length ? exact : entries.filter((c) => c.id.startsWith(filter.id));
    entries = byPrefix.length === 1 ? byPrefix : [];
  }
  let out = entries.map(sandboxOf);
  if (filter?.state) out = out.filter((s) => s.state === filter.state!.state);
  const selector = filter?.label_selector;
  if (selector && Object.keys(selector).length)
    out = out.filter((s) => matchesSelector(s.labels ?? {}, selector));
  return out;
}

/** Stored options, else what HostConfig says (a cri-dockerd sandbox). */
export function sandboxNamespaces(inspect: ContainerInspectInfo): SandboxNamespaces {
  const raw = inspect.Config?.Labels?.[LABEL_NAMESPACE_OPTIONS];
  if (raw) {
    try {
      const ns = JSON.parse(raw) as Partial<SandboxNamespaces>;
      if (ns.network && ns.pid && ns.ipc) {
        return { network: ns.network, pid: ns.pid, ipc: ns.ipc, target_id: ns.target_id ?? '' };
      }
    } catch {
      // fall through to HostConfig
    }
  }
  const hc = inspect.HostConfig ?? {};
  const host = (m: string | undefined, otherwise: NsMode): NsMode => (m === 'host' ? 'NODE' : otherwise);
  return {
    network: host(hc.NetworkMode, 'POD'),
    // A pause container cannot tell whether its pod shares one PID namespace; the kubelet's default is not to.
    pid: host(hc.PidMode, 'CONTAINER'),
    ipc: host(hc.IpcMode, 'POD'),
    target_id: '',
  };
}

export function isHostNetwork(inspect: ContainerInspectInfo): boolean {
  return inspect.HostConfig?.NetworkMode === 'host';
}

/** Pod IPs from the engine: the first IPv4 address, then IPv6 (and any further) ones. */
export function podIpsFromInspect(inspect: ContainerInspectInfo): PodIps {
  if (isHostNetwork(inspect)) return { ip: '', additional_ips: [] };
  // Docker 20.10 still fills the top-level (legacy) fields; newer engines only the per-network ones.
  const ns = inspect.NetworkSettings as ContainerInspectInfo['NetworkSettings'] & {
    IPAddress?: string;
    GlobalIPv6Address?: string;
  };
  const seen: string[] = [];
  const add = (ip: string | undefined): void => {
    if (ip && !seen.includes(ip)) seen.push(ip);
  };
  add(ns?.IPAddress);
  for (const net of Object.values(ns?.Networks ?? {})) add(net.IPAddress);
  add(ns?.GlobalIPv6Address);
  for (const net of Object.values(ns?.Networks ?? {})) add(net.GlobalIPv6Address);
  const [ip = '', ...rest] = seen;
  return { ip, additional_ips: rest.map((a) => ({ ip: a })) };
}

export function sandboxStatusFromInspect(inspect: ContainerInspectInfo, ips: PodIps): PodSandboxStatus {
  const dockerLabels = inspect.Config?.Labels ?? {};
  const { labels, annotations } = decodeLabels(dockerLabels, true);
  const ns = sandboxNamespaces(inspect);
  return {
    id: inspect.Id,
    metadata: sandboxMetadata(inspect.Name, dockerLabels),
    state: inspect.State?.Running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    created_at: createdAt(dockerLabels, rfc3339ToNanos(inspect.Created)),
    network: ips,
    linux: { namespaces: { options: ns } },
    labels,
    annotations,
    runtime_handler: dockerLabels[LABEL_RUNTIME_HANDLER] ?? '',
  };
}

/** The verbose `info` of PodSandboxStatus: the engine's view, for people and tools. */
export function sandboxVerboseInfo(inspect: ContainerInspectInfo, image: string): Record<string, string> {
  return {
    info: JSON.stringify({
      pid: inspect.State?.Pid ?? 0,
      image,
      runtimeHandler: inspect.Config?.Labels?.[LABEL_RUNTIME_HANDLER] ?? '',
      dockerRuntime: inspect.HostConfig?.Runtime ?? '',
      name: inspect.Name.replace(/^\//, ''),
      inspect,
    }),
  };
}
