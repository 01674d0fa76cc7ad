import type { Deps } from '../deps';
import { listStream, type ListStreamCall } from '../grpc/list-stream';
import type { StreamImagesRequest__Output } from '../generated/runtime/v1/StreamImagesRequest';
import { listImages } from './list-images';

/** StreamImages: ListImages' answer (same filter, same items) in chunks. */
export function streamImages(deps: Deps): ListStreamCall<StreamImagesRequest__Output> {
  const list = listImages(deps);
  return listStream<StreamImagesRequest__Output, object>('StreamImages', async (req, ctx) => {
    const res = await list({ filter: req.filter }, ctx);
    return res.images ?? [];
  });
}
