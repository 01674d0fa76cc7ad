import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ImageStatusRequest__Output } from '../generated/runtime/v1/ImageStatusRequest';
import type { ImageStatusResponse } from '../generated/runtime/v1/ImageStatusResponse';
import { toCriImage } from '../translate/image';
import { findImage, specImageRef } from './lookup';

/** An absent image is an empty answer, not an error: the kubelet asks to decide whether to pull. */
export function imageStatus(deps: Deps): UnaryImpl<ImageStatusRequest__Output, ImageStatusResponse> {
  return async (req) => {
    const ref = specImageRef(req.image, 'image');
    const info = await findImage(deps, ref);
    if (!info) return { image: null, info: {} };
    const out: ImageStatusResponse = { image: toCriImage(info), info: {} };
    if (req.verbose) {
      out.info = {
        info: JSON.stringify({
          id: info.Id,
          repoTags: info.RepoTags,
          repoDigests: info.RepoDigests,
          created: info.Created,
          architecture: info.Architecture,
          os: info.Os,
          size: info.Size,
          config: info.Config,
          rootfs: info.RootFS,
        }),
      };
    }
    return out;
  };
}
