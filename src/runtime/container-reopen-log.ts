import type { Deps } from '../deps';
import type { ReopenContainerLogRequest__Output } from '../generated/runtime/v1/ReopenContainerLogRequest';
import type { ReopenContainerLogResponse } from '../generated/runtime/v1/ReopenContainerLogResponse';
import { failedPrecondition, invalidArgument, notFound } from '../grpc/status-error';
import { isNotFound } from '../docker/errors';
import { isContainerLabels, LABEL_LOG_PATH } from '../translate/labels';

/**
 * ReopenContainerLog: the kubelet has renamed the log file (rotation); later lines go to a new file
 * at the original path. Only a running container has a log being written.
 */
export function reopenContainerLog(deps: Deps) {
  return async (req: ReopenContainerLogRequest__Output): Promise<ReopenContainerLogResponse> => {
    const given = req.container_id;
    if (!given) throw invalidArgument('container_id is empty: a container id is required');
    const id = deps.index.resolve(given, 'container') ?? given;
    const info = await deps.docker
      .call('container.inspect', `container "${given}"`, (d) => d.getContainer(id).inspect())
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (!info || !isContainerLabels(info.Config?.Labels)) throw notFound(`container "${given}" not found`);
    if (!info.State.Running) {
      throw failedPrecondition(
        `container "${info.Id}" is not running (state ${info.State.Status}): its log cannot be reopened`,
      );
    }
    const logPath = info.Config.Labels?.[LABEL_LOG_PATH];
    if (!logPath) throw failedPrecondition(`container "${info.Id}" has no log path`);
    await deps.logs.reopen(info.Id, logPath);
    return {};
  };
}
