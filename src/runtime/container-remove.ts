import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { RemoveContainerRequest__Output } from '../generated/runtime/v1/RemoveContainerRequest';
import type { RemoveContainerResponse } from '../generated/runtime/v1/RemoveContainerResponse';
import { isConflict, isNotFound } from '../docker/errors';
import { findContainerIfExists } from '../lookup/find-container';

/**
 * Whether the engine no longer has container `id` (a failed look is not "gone"): a remove that
 * failed for a container another remove took meanwhile did what it was asked.
 */
export async function containerGone(deps: Deps, id: string): Promise<boolean> {
  try {
    await deps.engine.inspectContainer(id);
    return false;
  } catch (err) {
    return isNotFound(err);
  }
}

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
      if (!(await containerGone(deps, c.Id))) throw err;
    }
    return {};
  };
}
