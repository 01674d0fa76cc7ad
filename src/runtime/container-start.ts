import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StartContainerRequest__Output } from '../generated/runtime/v1/StartContainerRequest';
import type { StartContainerResponse } from '../generated/runtime/v1/StartContainerResponse';
import { failedPrecondition } from '../grpc/status-error';
import { isNotModified } from '../docker/errors';
import { LABEL_LOG_PATH, LABEL_SANDBOX_ID } from '../translate/labels';
import { criState } from '../translate/container-status';
import { findContainer } from './container-lookup';

/**
 * StartContainer starts a created container. An exited one is refused: Docker would run it again,
 * but in CRI a container runs once and the kubelet creates a new attempt instead.
 */
export function startContainer(deps: Deps): UnaryImpl<StartContainerRequest__Output, StartContainerResponse> {
  return async (req) => {
    const found = await findContainer(deps, req.container_id);
    const sandboxId = found.Config?.Labels?.[LABEL_SANDBOX_ID] || found.Id;
    return deps.podLocks.run(sandboxId, async () => {
      const c = await findContainer(deps, found.Id);
      const state = criState(c.State?.Status);
      if (state !== 'CONTAINER_CREATED' || c.State?.Error) {
        throw failedPrecondition(
          `container "${c.Id}" is ${state}${c.State?.Error ? ' (its start failed)' : ''}: only a created container can be started`,
        );
      }
      // The kubelet's log file exists when this call returns, even if the container never prints.
      const logPath = c.Config?.Labels?.[LABEL_LOG_PATH];
      if (logPath) await deps.logs.prepare(c.Id, logPath);
      try {
        await deps.docker.call('container.start', `container "${c.Id}"`, (d) => d.getContainer(c.Id).start());
      } catch (err) {
        // Started meanwhile by someone else: what was asked for is true.
        if (!isNotModified(err)) {
          await deps.index.refresh(c.Id, 'start');
          throw err;
        }
      }
      await deps.index.refresh(c.Id, 'start');
      return {};
    });
  };
}
