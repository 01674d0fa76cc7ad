import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { RemovePodSandboxRequest__Output } from '../generated/runtime/v1/RemovePodSandboxRequest';
import type { RemovePodSandboxResponse } from '../generated/runtime/v1/RemovePodSandboxResponse';
import { isConflict, isNotFound } from '../docker/errors';
import { isHostNetwork } from '../translate/sandbox-status';
import { logger } from '../logger';
import { findSandboxIfExists } from '../lookup/find-sandbox';
import { sandboxMembers } from '../lookup/sandbox-members';
import { podNetwork } from '../network/pod-network';
import { containerGone } from './container-remove';

async function removeForce(deps: Deps, id: string, what: string): Promise<void> {
  try {
    await deps.engine.removeContainer(id, { context: `${what} "${id}"` });
  } catch (err) {
    // Gone, or a removal of it already under way (Docker's 409): either way it goes, as asked.
    if (isNotFound(err) || isConflict(err)) return;
    // Any other answer for a container gone by now (a racing remove took it) is done too.
    if (!(await containerGone(deps, id))) throw err;
  }
}

export function removePodSandbox(
  deps: Deps,
): UnaryImpl<RemovePodSandboxRequest__Output, RemovePodSandboxResponse> {
  return async (req) => {
    const found = await findSandboxIfExists(deps, req.pod_sandbox_id);
    if (!found) {
      logger.info('RemovePodSandbox of an absent sandbox: nothing to do', {
        pod_sandbox_id: req.pod_sandbox_id,
      });
      return {};
    }
    const { id } = found;
    const members = await sandboxMembers(deps, id);
    await Promise.all(members.map((c) => removeForce(deps, c.id, 'container')));
    // A sandbox removed without a stop first still gets its network released.
    if (!isHostNetwork(found.inspect)) {
      await podNetwork(deps).tearDown(found.inspect);
    }
    await removeForce(deps, id, 'pod sandbox');
    await deps.podResources.remove(id);
    return {};
  };
}
