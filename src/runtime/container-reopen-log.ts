import type { Deps } from '../deps';
import type { ReopenContainerLogRequest__Output } from '../generated/runtime/v1/ReopenContainerLogRequest';
import type { ReopenContainerLogResponse } from '../generated/runtime/v1/ReopenContainerLogResponse';
import { failedPrecondition } from '../grpc/status-error';
import { LABEL_LOG_PATH } from '../translate/labels';
import { findContainer } from '../lookup/find-container';
import { asFileError } from '../errors';

/**
 * ReopenContainerLog: the kubelet has renamed the log file (rotation); later lines go to a new file
 * at the original path. Only a running container has a log being written.
 */
export function reopenContainerLog(deps: Deps) {
  return async (req: ReopenContainerLogRequest__Output): Promise<ReopenContainerLogResponse> => {
    const info = await findContainer(deps, req.container_id);
    if (!info.State.Running) {
      throw failedPrecondition(
        `container "${info.Id}" is not running (state ${info.State.Status}): its log cannot be reopened`,
      );
    }
    const logPath = info.Config.Labels?.[LABEL_LOG_PATH];
    if (!logPath) throw failedPrecondition(`container "${info.Id}" has no log path`);
    // A local file's failure (the kubelet removed the pod's log directory) names the file.
    await deps.logs.reopen(info.Id, logPath).catch((err: unknown) => {
      throw asFileError(err, logPath, `reopening the log file of container "${info.Id}"`);
    });
    return {};
  };
}
