import type { ImageInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import { invalidArgument } from '../grpc/status-error';
import { isNotFound } from '../docker/errors';
import { ImageReferenceError, isImageId, parseImageReference } from '../translate/image-ref';

/** Checks that `ref` is a name Docker could resolve; INVALID_ARGUMENT naming the field otherwise. */
export function validateImageRef(ref: string | undefined, field = 'image.image'): string {
  if (!ref) throw invalidArgument(`${field} is empty: an image reference is required`);
  if (isImageId(ref) || /^(sha256:)?[a-f0-9]{6,63}$/.test(ref)) return ref;
  try {
    parseImageReference(ref);
  } catch (err) {
    if (err instanceof ImageReferenceError) throw invalidArgument(`${field}: ${err.message}`);
    throw err;
  }
  return ref;
}

/** Inspects an image by name, digest or id; undefined when the engine has no such image. */
export async function findImage(deps: Deps, ref: string): Promise<ImageInspectInfo | undefined> {
  try {
    return await deps.engine.inspectImage(ref);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
