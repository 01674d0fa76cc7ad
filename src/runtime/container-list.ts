import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ListContainersRequest__Output } from '../generated/runtime/v1/ListContainersRequest';
import type { ListContainersResponse } from '../generated/runtime/v1/ListContainersResponse';
import { listContainers as fromIndex } from '../translate/container-list';

/** ListContainers answers from the events-driven index: no Docker call per request. */
export function listContainers(deps: Deps): UnaryImpl<ListContainersRequest__Output, ListContainersResponse> {
  return async (req) => ({ containers: fromIndex(deps.index.list(), req.filter) });
}
