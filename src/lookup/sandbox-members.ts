import type { ContainerInfo } from 'dockerode';
import type { Deps } from '../deps';
import { LABEL_SANDBOX_ID } from '../translate/labels';

/**
 * The pod's workload containers, asked of Docker rather than the index: a container created a
 * moment ago must not escape a stop or remove because its event has not arrived yet.
 */
export function sandboxMembers(deps: Deps, sandboxId: string): Promise<ContainerInfo[]> {
  return deps.engine.listContainers(
    { label: [`${LABEL_SANDBOX_ID}=${sandboxId}`] },
    { context: `pod sandbox "${sandboxId}"` },
  );
}
