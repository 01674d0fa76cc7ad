import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { UpdateContainerResourcesRequest__Output } from '../generated/runtime/v1/UpdateContainerResourcesRequest';
import type { UpdateContainerResourcesResponse } from '../generated/runtime/v1/UpdateContainerResourcesResponse';
import { logger } from '../logger';
import { swapFollowsMemory, toDockerUpdate } from '../translate/container-resources';
import { findContainer } from '../lookup/find-container';

/**
 * UpdateContainerResources → Docker's update: cpu period/quota/shares, memory (+swap), cpusets.
 * oom_score_adj, hugepages and unified cannot change on a live Docker container; they are left as
 * they were (logged when asked for).
 */
export function updateContainerResources(
  deps: Deps,
): UnaryImpl<UpdateContainerResourcesRequest__Output, UpdateContainerResourcesResponse> {
  return async (req) => {
    const c = await findContainer(deps, req.container_id);
    const update = swapFollowsMemory(toDockerUpdate(req.linux, 'linux'), c.HostConfig);
    if (
      req.linux &&
      (Object.keys(req.linux.unified ?? {}).length ||
        (req.linux.hugepage_limits ?? []).some((h) => Number(h.limit) > 0))
    ) {
      logger.warn('hugepage and unified limits cannot be changed through Docker; left as they were', {
        id: c.Id,
      });
    }
    if (!Object.keys(update).length) return {};
    await deps.engine.updateContainer(c.Id, update);
    // Resources show in the status, and an update changes no state the cache would notice.
    deps.statusCache.forget(c.Id);
    return {};
  };
}
