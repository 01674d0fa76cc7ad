import type { Deps } from '../deps';
import { podContainers } from '../lookup/sandbox-members';
import type { UnaryImpl } from '../grpc/handler';
import type { PodSandboxStatsRequest__Output } from '../generated/runtime/v1/PodSandboxStatsRequest';
import type { PodSandboxStatsResponse } from '../generated/runtime/v1/PodSandboxStatsResponse';
import type { ListPodSandboxStatsRequest__Output } from '../generated/runtime/v1/ListPodSandboxStatsRequest';
import type { ListPodSandboxStatsResponse } from '../generated/runtime/v1/ListPodSandboxStatsResponse';
import type { PodSandboxStats } from '../generated/runtime/v1/PodSandboxStats';
import type { IndexedContainer } from '../docker/container-index';
import { invalidArgument, notFound } from '../grpc/status-error';
import { shownId } from '../lookup/request-ids';
import { isContainerLabels, isSandboxLabels, LABEL_SANDBOX_ID, matchesSelector } from '../translate/labels';
import {
  containerStats,
  cpuUsage,
  ioUsage,
  memoryUsage,
  networkUsage,
  sandboxAttributes,
  sumSamples,
  type CgroupSample,
} from '../translate/stats-cri';
import { mapBounded } from './container-stats';
import { requireEngine } from './engine-gate';

export const PARALLEL = 8;
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * A pod's stats: its own cgroup when it has one, else the sum of its containers and the pause
 * container; the network of the pause process's namespace; and each container's stats.
 */
export async function podStatsOf(
  deps: Deps,
  sandbox: IndexedContainer,
  members = podContainers(deps, sandbox.id),
): Promise<PodSandboxStats> {
  const [samples, podSample, net] = await Promise.all([
    Promise.all(members.map((c) => deps.stats.sample(c))),
    deps.stats.podSample(sandbox),
    deps.stats.network(sandbox),
  ]);
  const running = sandbox.state === 'running';
  let pod: CgroupSample | undefined = podSample;
  if (!pod && running) {
    // No pod cgroup of its own (the kubelet gives every pod one; other callers may not): the pod
    // is the sum of its containers and the pause container, read only then.
    const pauseSample = await deps.stats.sample(sandbox);
    pod = sumSamples(
      nowNs(),
      [pauseSample, ...samples].filter((s): s is CgroupSample => s !== undefined),
    );
  }
  const at = nowNs();
  return {
    attributes: sandboxAttributes(sandbox),
    linux: {
      cpu: pod ? cpuUsage(pod) : null,
      memory: pod ? memoryUsage(pod) : null,
      ...(pod?.psi?.io ? { io: ioUsage(pod) } : {}),
      network: running ? networkUsage(at, net) : null,
      process:
        pod?.processes !== undefined
          ? { timestamp: pod.atNs.toString(), process_count: { value: pod.processes.toString() } }
          : null,
      containers: members.map((c, i) => containerStats(c, samples[i], deps.stats.layer(c.id))),
    },
  };
}

export function podSandboxStats(
  deps: Deps,
): UnaryImpl<PodSandboxStatsRequest__Output, PodSandboxStatsResponse> {
  return async (req) => {
    if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is empty');
    requireEngine(deps);
    const id = deps.index.resolve(req.pod_sandbox_id, 'pod sandbox');
    const s = id ? deps.index.get(id) : undefined;
    if (!s || !isSandboxLabels(s.labels))
      throw notFound(`pod sandbox "${shownId(req.pod_sandbox_id)}" not found`);
    return { stats: await podStatsOf(deps, s) };
  };
}

/** Members of every pod in one pass over the index, not one pass per pod. */
export function membersByPod(deps: Deps): Map<string, IndexedContainer[]> {
  const members = new Map<string, IndexedContainer[]>();
  for (const c of deps.index.list()) {
    if (!isContainerLabels(c.labels)) continue;
    const sid = c.labels[LABEL_SANDBOX_ID];
    const list = members.get(sid);
    if (list) list.push(c);
    else members.set(sid, [c]);
  }
  return members;
}

/** The sandboxes a ListPodSandboxStats filter picks, from the index. */
export function sandboxesForStats(
  deps: Deps,
  f: ListPodSandboxStatsRequest__Output['filter'] | undefined,
): IndexedContainer[] {
  requireEngine(deps);
  const id = f?.id ? deps.index.resolve(f.id, 'pod sandbox') : undefined;
  if (f?.id && !id) return [];
  return deps.index
    .list()
    .filter(
      (s) =>
        isSandboxLabels(s.labels) && (!id || s.id === id) && matchesSelector(s.labels, f?.label_selector),
    );
}

export function listPodSandboxStats(
  deps: Deps,
): UnaryImpl<ListPodSandboxStatsRequest__Output, ListPodSandboxStatsResponse> {
  return async (req) => {
    const members = membersByPod(deps);
    return {
      stats: await mapBounded(sandboxesForStats(deps, req.filter), PARALLEL, (s) =>
        podStatsOf(deps, s, members.get(s.id) ?? []),
      ),
    };
  };
}
