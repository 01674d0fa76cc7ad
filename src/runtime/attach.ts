import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { AttachRequest__Output } from '../generated/runtime/v1/AttachRequest';
import type { AttachResponse } from '../generated/runtime/v1/AttachResponse';
import { checkStreams, runningContainer, streamingUrl } from './exec';

/** Attach: validates, then returns the URL that joins the container's main process. */
export function attach(deps: Deps): UnaryImpl<AttachRequest__Output, AttachResponse> {
  return async (req) => {
    checkStreams(req);
    const containerId = await runningContainer(deps, req.container_id);
    return {
      url: streamingUrl(deps, {
        kind: 'attach',
        containerId,
        tty: req.tty,
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
      }),
    };
  };
}
