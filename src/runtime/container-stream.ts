import type { Deps } from '../deps';
import { listStream, type ListStreamCall } from '../grpc/list-stream';
import type { StreamContainersRequest__Output } from '../generated/runtime/v1/StreamContainersRequest';
import { listContainers } from './container-list';

/** StreamContainers: ListContainers' answer (same filter, same items) in chunks. */
export function streamContainers(deps: Deps): ListStreamCall<StreamContainersRequest__Output> {
  const list = listContainers(deps);
  return listStream<StreamContainersRequest__Output, object>('StreamContainers', async (req, ctx) => {
    const res = await list({ filter: req.filter }, ctx);
    return res.containers ?? [];
  });
}
