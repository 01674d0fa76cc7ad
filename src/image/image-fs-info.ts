import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ImageFsInfoRequest__Output } from '../generated/runtime/v1/ImageFsInfoRequest';
import type { ImageFsInfoResponse } from '../generated/runtime/v1/ImageFsInfoResponse';
import type { FilesystemUsage } from '../generated/runtime/v1/FilesystemUsage';

/**
 * Reports Docker's image store (`<DockerRootDir>/<storage driver>`) from its last walk
 * (image/image-store-usage.ts). Images and writable layers share that store under Docker, so the
 * container filesystem entry names the same place.
 */
export function imageFsInfo(deps: Deps): UnaryImpl<ImageFsInfoRequest__Output, ImageFsInfoResponse> {
  return async () => {
    const { mountpoint, usage } = await deps.imageStore.get();
    const fsUsage: FilesystemUsage = {
      timestamp: usage.timestamp.toString(),
      fs_id: { mountpoint },
      used_bytes: { value: usage.bytes.toString() },
      inodes_used: { value: usage.inodes.toString() },
    };
    return { image_filesystems: [fsUsage], container_filesystems: [fsUsage] };
  };
}
