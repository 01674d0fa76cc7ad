import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ListPodSandboxRequest__Output } from '../generated/runtime/v1/ListPodSandboxRequest';
import type { ListPodSandboxResponse } from '../generated/runtime/v1/ListPodSandboxResponse';
import { filterSandboxes } from '../translate/sandbox-status';
import { requireEngine } from './engine-gate';

/** Answers from the events-driven index: no Docker call per request. */
export function listPodSandbox(deps: Deps): UnaryImpl<ListPodSandboxRequest__Output, ListPodSandboxResponse> {
  return async (req) => {
    requireEngine(deps);
    return { items: filterSandboxes(deps.index.list(), req.filter) };
  };
}
