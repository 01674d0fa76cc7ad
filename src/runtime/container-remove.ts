import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { RemoveContainerRequest__Output } from '../generated/runtime/v1/RemoveContainerRequest';
import type { RemoveContainerResponse } from '../generated/runtime/v1/RemoveContainerResponse';
import { isConflict, isNotFound } from '../docker/errors';
import { findContainerIfExists } from '../lookup/find-container';

/**
 * RemoveContainer: forced, so a running container goes too, with its anonymous volumes (as
 * dockershim did). Idempotent: an absent container succeeds.
 */
export function removeContainer(
  deps: Deps,
): UnaryImpl<RemoveContainerRequest__Output, RemoveContainerResponse> {
  return async (req) => {
    const c = await findContainerIfExists(deps, req.container_id);
    if (!c) return {};
    try {
      await deps.engine.removeContainer(c.Id);
    } catch (err) {
      // 409 here is "removal already in progress": someone else is doing what we were asked.
      if (isNotFound(err) || isConflict(err)) return {};
      // Any other answer for a container that is gone by now (a lost race) is success too.
      const now = await findContainerIfExists(deps, c.Id).catch(() => c);
      if (now) throw err;
    }
    return {};
  };
}
