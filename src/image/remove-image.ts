import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { RemoveImageRequest__Output } from '../generated/runtime/v1/RemoveImageRequest';
import type { RemoveImageResponse } from '../generated/runtime/v1/RemoveImageResponse';
import { isNotFound } from '../docker/errors';
import { findImage, validateImageRef } from './lookup';

/** Whether the engine no longer has `ref` (a failed look is not "gone"). */
async function isGone(deps: Deps, ref: string): Promise<boolean> {
  return (await findImage(deps, ref).catch(() => 'unknown' as const)) === undefined;
}

/**
 * Removing by id takes every tag with it (the kubelet's image GC removes by id); removing by tag or
 * digest drops that reference, and Docker deletes the image with its last reference.
 * An image that is already gone counts as removed, whatever the engine answered (a lost race).
 */
export function removeImage(deps: Deps): UnaryImpl<RemoveImageRequest__Output, RemoveImageResponse> {
  return async (req) => {
    const ref = validateImageRef(req.image?.image);
    const info = await findImage(deps, ref);
    if (!info) return {};
    const byId =
      info.Id === ref ||
      info.Id === `sha256:${ref}` ||
      info.Id.startsWith(ref) ||
      info.Id.slice(7).startsWith(ref);
    const targets = byId ? [...(info.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), info.Id] : [ref];
    for (const target of targets) {
      try {
        await deps.engine.removeImage(target, { context: `image "${ref}"` });
      } catch (err) {
        if (isNotFound(err)) continue;
        // Another remove won the race: Docker 20.10 then answers 500 "unrecognized image ID" for an
        // image that is gone. Whatever the engine said, what is gone was removed.
        if (await isGone(deps, target)) continue;
        throw err;
      }
    }
    return {};
  };
}
