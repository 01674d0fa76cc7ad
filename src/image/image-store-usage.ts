import path from 'path';
import type { EngineInfoCache } from '../docker/engine-info-cache';
import { logger } from '../logger';
import { CachedUsage, type FsUsage } from './fs-usage';

/**
 * The store is walked at most this often, in the background and only while ImageFsInfo is asked
 * for: every container adds two layer directories, and the walk through the thread pool cost 1.4 s
 * of CPU at 110 pods under a real kubelet (fs-usage.ts now walks in synchronous slices). The
 * kubelet takes used bytes as information; its image GC (every 5 min) and eviction go by the
 * filesystem's own capacity and free space.
 */
const USAGE_MAX_AGE_MS = 5 * 60_000;

/**
 * Docker's image store (`<DockerRootDir>/<storage driver>`) and what it holds, kept for
 * ImageFsInfo. One walk is kept per store path: a restarted dockerd may have a new root.
 */
export class ImageStoreUsage {
  private readonly caches = new Map<string, CachedUsage>();

  constructor(private readonly engineInfo: Pick<EngineInfoCache, 'get'>) {}

  /** The store's path and its last walk (the first call waits for the first walk). */
  async get(): Promise<{ mountpoint: string; usage: FsUsage }> {
    const info = await this.engineInfo.get();
    const mountpoint = path.join(String(info.DockerRootDir), String(info.Driver));
    let cache = this.caches.get(mountpoint);
    if (!cache) {
      cache = new CachedUsage(mountpoint, USAGE_MAX_AGE_MS);
      this.caches.set(mountpoint, cache);
    }
    return { mountpoint, usage: await cache.get() };
  }

  /**
   * Starts the first walk without waiting for it: the kubelet asks within seconds of its start, and
   * at a full node the walk takes about a second it would otherwise wait.
   */
  prime(): void {
    this.get().catch((err: unknown) =>
      logger.debug('image store walk not primed', { error: (err as Error).message }),
    );
  }
}
