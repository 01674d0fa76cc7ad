import { status as grpcStatus } from '../grpc/status-codes';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { CriError } from '../grpc/status-error';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import type { PodSandboxStatusRequest__Output } from '../generated/runtime/v1/PodSandboxStatusRequest';
import type { PodSandboxStatusResponse } from '../generated/runtime/v1/PodSandboxStatusResponse';
import type { ContainerInspectInfo } from 'dockerode';
import type { PodSandboxStatus } from '../generated/runtime/v1/PodSandboxStatus';
import { nowNanos } from '../translate/time';
import {
  isHostNetwork,
  podIpsFromInspect,
  sandboxStatusFromInspect,
  sandboxVerboseInfo,
} from '../translate/sandbox-status';
import { containerStatusOf } from './container-status';
import { findSandbox, indexedSandbox } from '../lookup/find-sandbox';
import { podContainers } from '../lookup/sandbox-members';
import { podNetwork } from '../network/pod-network';
import type { PodResources } from '../state/pod-resources-store';

/**
 * The statuses of a sandbox's containers (members from the index; each inspected once per state
 * it reaches, then answered from the cache). A container removed meanwhile is left out.
 */
export async function sandboxContainerStatuses(deps: Deps, sandboxId: string): Promise<ContainerStatus[]> {
  const members = podContainers(deps, sandboxId);
  const cache = deps.statusCache;
  const out = await Promise.all(
    members.map((m) =>
      cache
        .get(m, (id) => containerStatusOf(deps, id))
        .catch((err: unknown) => {
          if (err instanceof CriError && err.code === grpcStatus.NOT_FOUND) return undefined;
          throw err;
        }),
    ),
  );
  return out.filter((s): s is ContainerStatus => s !== undefined);
}

/** Verbose info plus `podResources`: what UpdatePodSandboxResources last recorded, if anything. */
function withPodResources(
  info: Record<string, string>,
  res: PodResources | undefined,
): Record<string, string> {
  return res ? { ...info, podResources: JSON.stringify(res) } : info;
}

/**
 * PodSandboxStatus, with the statuses of the pod's containers and the time they were taken: the
 * kubelet's evented PLEG reads a pod's whole state from this one answer.
 */
export function podSandboxStatus(
  deps: Deps,
): UnaryImpl<PodSandboxStatusRequest__Output, PodSandboxStatusResponse> {
  return async (req) => {
    // Taken before anything is read, so that a change made meanwhile is newer than this answer.
    const timestamp = nowNanos();
    const known = req.verbose ? undefined : indexedSandbox(deps, req.pod_sandbox_id);
    if (known) {
      // The kubelet asks this of every pod it syncs; the answer changes only with the state the
      // index follows (state/container-status-cache.ts), so no inspect while it stands still.
      const [status, containers] = await Promise.all([
        deps.sandboxStatusCache.get(known, async (id) =>
          ownStatus(deps, (await findSandbox(deps, id)).inspect),
        ),
        sandboxContainerStatuses(deps, known.id),
      ]);
      return { status, info: {}, containers_statuses: containers, timestamp };
    }
    const { inspect } = await findSandbox(deps, req.pod_sandbox_id);
    const [status, containers, podResources] = await Promise.all([
      ownStatus(deps, inspect),
      sandboxContainerStatuses(deps, inspect.Id),
      req.verbose ? deps.podResources.get(inspect.Id) : undefined,
    ]);
    return {
      status,
      info: req.verbose
        ? withPodResources(sandboxVerboseInfo(inspect, inspect.Config?.Image ?? ''), podResources)
        : {},
      containers_statuses: containers,
      timestamp,
    };
  };
}

/** The sandbox's own status (its IPs from the pod network, or Docker's for a host-network pod). */
async function ownStatus(deps: Deps, inspect: ContainerInspectInfo): Promise<PodSandboxStatus> {
  const ips = isHostNetwork(inspect)
    ? podIpsFromInspect(inspect)
    : ((await podNetwork(deps).ips(inspect)) ?? podIpsFromInspect(inspect));
  return sandboxStatusFromInspect(inspect, ips);
}
