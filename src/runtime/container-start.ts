import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StartContainerRequest__Output } from '../generated/runtime/v1/StartContainerRequest';
import type { StartContainerResponse } from '../generated/runtime/v1/StartContainerResponse';
import { failedPrecondition } from '../grpc/status-error';
import { isNotModified } from '../docker/errors';
import { LABEL_LOG_PATH } from '../translate/labels';
import { criState } from '../translate/container-status';
import { findContainer } from '../lookup/find-container';

/**
 * StartContainer starts a created container. An exited one is refused: Docker would run it again,
 * but in CRI a container runs once and the kubelet creates a new attempt instead.
 */
export function startContainer(deps: Deps): UnaryImpl<StartContainerRequest__Output, StartContainerResponse> {
  return async (req) => {
    const c = await findContainer(deps, req.container_id);
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
      await deps.engine.startContainer(c.Id);
    } catch (err) {
      // Started meanwhile by someone else: what was asked for is true.
      if (!isNotModified(err)) throw err;
    }
    return {};
  };
}
