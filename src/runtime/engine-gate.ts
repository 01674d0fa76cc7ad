import type { Deps } from '../deps';
import { unavailable } from '../grpc/status-error';

/**
 * The calls that answer from the container index alone — ListContainers, ListPodSandbox,
 * ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats, ListPodSandboxMetrics
 * and their Stream* forms — call this first: while the index is cut off from the engine (its
 * events stream is down: dockerd stopped, restarting or unreachable) they answer UNAVAILABLE at
 * once instead of from memory that may be stale. The kubelet takes a failed relist as "runtime
 * down" and tries again; a stale list would have it act on containers that may be gone, or miss
 * ones that exited, and an empty one (before the first sync) would look like every pod lost its
 * sandbox. ContainerStatus and PodSandboxStatus need no gate: their caches are bypassed while the
 * index is cut off (state/container-status-cache.ts), so they ask the engine and fail as it does.
 */
export function requireEngine(deps: Pick<Deps, 'index' | 'engine'>): void {
  if (!deps.index.isCutOff()) return;
  throw unavailable(
    `docker engine unreachable at ${deps.engine.endpoint}: the container list is not current while its events stream is down`,
  );
}
