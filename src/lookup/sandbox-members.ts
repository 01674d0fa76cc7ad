import type { Deps } from '../deps';
import type { IndexedContainer } from '../docker/container-index';
import { isContainerLabels, LABEL_SANDBOX_ID, LABEL_TYPE, TYPE_CONTAINER } from '../translate/labels';

/** A workload container of a pod, as much as stopping or removing it needs. */
export interface Member {
  id: string;
  /** Docker state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
}

/**
 * The pod's Kubernetes containers (type label `container`, as dockershim counted them) as the index
 * holds them: PodSandboxStatus, pod stats and metrics ask on every call.
 */
export function podContainers(deps: Deps, sandboxId: string): IndexedContainer[] {
  return deps.index.membersOf(sandboxId).filter((c) => isContainerLabels(c.labels));
}

/**
 * The pod's Kubernetes containers, for StopPodSandbox and RemovePodSandbox. From the index while it
 * follows Docker's events: the callers hold the pod lock, and CreateContainer and StartContainer,
 * which take it too, put what they made in the index before they return (docker/engine-index.ts),
 * so a container made a moment ago is there. A list per stop would walk every container on the
 * engine. While the index is cut off from the events stream it may be behind: Docker is asked then,
 * for the same containers.
 */
export async function sandboxMembers(deps: Deps, sandboxId: string): Promise<Member[]> {
  if (deps.index.isConnected()) {
    return podContainers(deps, sandboxId).map((c) => ({ id: c.id, state: c.state }));
  }
  const listed = await deps.engine.listContainers(
    { label: [`${LABEL_SANDBOX_ID}=${sandboxId}`, `${LABEL_TYPE}=${TYPE_CONTAINER}`] },
    { context: `pod sandbox "${sandboxId}"` },
  );
  return listed.map((c) => ({ id: c.Id, state: c.State }));
}
