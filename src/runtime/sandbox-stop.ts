import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StopPodSandboxRequest__Output } from '../generated/runtime/v1/StopPodSandboxRequest';
import type { StopPodSandboxResponse } from '../generated/runtime/v1/StopPodSandboxResponse';
import { isNotFound, isNotModified } from '../docker/errors';
import { isHostNetwork } from '../translate/sandbox-status';
import { logger } from '../logger';
import { findSandboxIfExists } from '../lookup/find-sandbox';
import { sandboxMembers } from '../lookup/sandbox-members';
import { podNetwork } from '../network/pod-network';

/** Stops one container at once; already stopped or gone counts as done. */
export async function stopNow(deps: Deps, id: string, what: string): Promise<void> {
  try {
    // The kubelet has already given every container its grace period: what still runs is killed.
    await deps.engine.stopContainer(id, 0, { context: `${what} "${id}"` });
  } catch (err) {
    if (!isNotModified(err) && !isNotFound(err)) throw err;
  }
}

export function stopPodSandbox(deps: Deps): UnaryImpl<StopPodSandboxRequest__Output, StopPodSandboxResponse> {
  return async (req) => {
    const found = await findSandboxIfExists(deps, req.pod_sandbox_id);
    if (!found) {
      logger.info('StopPodSandbox of an absent sandbox: nothing to do', {
        pod_sandbox_id: req.pod_sandbox_id,
      });
      return {};
    }
    const { id } = found;
    const members = await sandboxMembers(deps, id);
    await Promise.all(
      members
        .filter((c) => c.state !== 'exited' && c.state !== 'created' && c.state !== 'dead')
        .map((c) => stopNow(deps, c.id, 'container')),
    );
    // Also when the pause container died by itself: its pod addresses are still held (CNI).
    if (!isHostNetwork(found.inspect)) await podNetwork(deps).tearDown(found.inspect);
    if (found.inspect.State?.Running) {
      await stopNow(deps, id, 'pod sandbox');
    } else {
      // It died by itself: its event may still be on the way, and the kubelet lists right after.
      await deps.index.refresh(id, 'stop');
    }
    return {};
  };
}
