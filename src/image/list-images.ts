import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ListImagesRequest__Output } from '../generated/runtime/v1/ListImagesRequest';
import type { ListImagesResponse } from '../generated/runtime/v1/ListImagesResponse';
import type { Image } from '../generated/runtime/v1/Image';
import { toCriImage } from '../translate/image';
import { findImage, validateImageRef } from './lookup';

export function listImages(deps: Deps): UnaryImpl<ListImagesRequest__Output, ListImagesResponse> {
  return async (req) => {
    const wanted = req.filter?.image?.image;
    if (wanted) {
      const info = await findImage(deps, validateImageRef(wanted, 'filter.image.image'));
      return { images: info ? [toCriImage(info)] : [] };
    }
    const list = await deps.engine.listImages();
    // The list answer lacks the image config (and so the user); inspect is one call per image,
    // too dear for a call the kubelet makes this often, so users come only from ImageStatus.
    const images: Image[] = list.map((img) =>
      toCriImage({
        Id: img.Id,
        RepoTags: img.RepoTags ?? [],
        RepoDigests: img.RepoDigests ?? [],
        Size: img.Size,
      } as Parameters<typeof toCriImage>[0]),
    );
    return { images };
  };
}
