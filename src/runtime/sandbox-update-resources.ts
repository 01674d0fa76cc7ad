import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { invalidArgument } from '../grpc/status-error';
import type { UpdatePodSandboxResourcesRequest__Output } from '../generated/runtime/v1/UpdatePodSandboxResourcesRequest';
import type { UpdatePodSandboxResourcesResponse } from '../generated/runtime/v1/UpdatePodSandboxResourcesResponse';
import { toDockerResources } from '../translate/container-resources';
import { nowNanos } from '../translate/time';
import { logger } from '../logger';
import { findSandbox, findSandboxIfExists } from '../lookup/find-sandbox';

/**
 * UpdatePodSandboxResources: the kubelet tells the runtime a pod's new totals after an in-place
 * resize. The pod's cgroup is the kubelet's own (it resizes it before and after this call) and
 * Docker has no pod-level object to change, so what docker-cri can do is check the values and
 * record them, where the verbose PodSandboxStatus reports them, across restarts too.
 */
export function updatePodSandboxResources(
  deps: Deps,
): UnaryImpl<UpdatePodSandboxResourcesRequest__Output, UpdatePodSandboxResourcesResponse> {
  return async (req) => {
    if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is empty');
    if (!req.resources) throw invalidArgument('resources is required');
    // The same checks (and INVALID_ARGUMENT messages) as container resources.
    toDockerResources(req.resources, 'resources');
    toDockerResources(req.overhead, 'overhead');
    const { id } = await findSandbox(deps, req.pod_sandbox_id);
    const store = deps.podResources;
    // Resizes are rare: a good moment to drop records of pods removed behind our back.
    await store.prune(async (other) => other === id || !!(await findSandboxIfExists(deps, other)));
    await store.set(id, {
      overhead: req.overhead,
      resources: req.resources,
      updatedAt: nowNanos(),
    });
    logger.info('pod resources recorded', {
      pod_sandbox_id: id,
      cpu_quota: req.resources.cpu_quota,
      cpu_shares: req.resources.cpu_shares,
      memory_limit_in_bytes: req.resources.memory_limit_in_bytes,
    });
    return {};
  };
}
