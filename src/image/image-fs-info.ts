import path from 'path';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ImageFsInfoRequest__Output } from '../generated/runtime/v1/ImageFsInfoRequest';
import type { ImageFsInfoResponse } from '../generated/runtime/v1/ImageFsInfoResponse';
import type { FilesystemUsage } from '../generated/runtime/v1/FilesystemUsage';
import { CachedUsage } from './fs-usage';

/**
 * The store is walked at most this often, in the background and only while ImageFsInfo is asked
 * for: at 110 pods a walk costs ~0.3 s of CPU (every container adds two layer directories). The
 * kubelet takes used bytes as information; its image GC (every 5 min) and eviction go by the
 * filesystem's own capacity and free space.
 */
const USAGE_MAX_AGE_MS = 5 * 60_000;

/**
 * Reports Docker's image store (`<DockerRootDir>/<storage driver>`). Images and writable layers share
 * that store under Docker, so the container filesystem entry names the same place.
 */
export function imageFsInfo(deps: Deps): UnaryImpl<ImageFsInfoRequest__Output, ImageFsInfoResponse> {
  const caches = new Map<string, CachedUsage>();
  return async () => {
    const info = await deps.engineInfo.get();
    const mountpoint = path.join(String(info.DockerRootDir), String(info.Driver));
    let cache = caches.get(mountpoint);
    if (!cache) {
      cache = new CachedUsage(mountpoint, USAGE_MAX_AGE_MS);
      caches.set(mountpoint, cache);
    }
    const usage = await cache.get();
    const fsUsage: FilesystemUsage = {
      timestamp: usage.timestamp.toString(),
      fs_id: { mountpoint },
      used_bytes: { value: usage.bytes.toString() },
      inodes_used: { value: usage.inodes.toString() },
    };
    return { image_filesystems: [fsUsage], container_filesystems: [fsUsage] };
  };
}
