import type { Deps } from '../deps';
import { listStream, type ListStreamCall } from '../grpc/list-stream';
import type { StreamPodSandboxesRequest__Output } from '../generated/runtime/v1/StreamPodSandboxesRequest';
import { listPodSandbox } from './sandbox-list';

/** StreamPodSandboxes: ListPodSandbox's answer (same filter, same items) in chunks. */
export function streamPodSandboxes(deps: Deps): ListStreamCall<StreamPodSandboxesRequest__Output> {
  const list = listPodSandbox(deps);
  return listStream<StreamPodSandboxesRequest__Output, object>('StreamPodSandboxes', async (req, ctx) => {
    const res = await list({ filter: req.filter }, ctx);
    return res.items ?? [];
  });
}
