import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ListContainersRequest__Output } from '../generated/runtime/v1/ListContainersRequest';
import type { ListContainersResponse } from '../generated/runtime/v1/ListContainersResponse';
import { listContainers as fromIndex } from '../translate/container-list';
import { DRAIN_WAIT_MS } from '../logs/log-manager';
import { requireEngine } from './engine-gate';

/** ListContainers answers from the events-driven index: no Docker call per request. */
export function listContainers(deps: Deps): UnaryImpl<ListContainersRequest__Output, ListContainersResponse> {
  return async (req) => {
    requireEngine(deps);
    const containers = fromIndex(deps.index.list(), req.filter);
    // Exited ones are listed only with all their output in their log files (bounded wait).
    const exited = containers.flatMap((c) => (c.state === 'CONTAINER_EXITED' && c.id ? [c.id] : []));
    await deps.logs.awaitComplete(exited, Date.now() + DRAIN_WAIT_MS);
    return { containers };
  };
}
