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

/**
 * The reference to look an ImageSpec up by: its `image_ref` when the kubelet resolved one (an
 * image id or digest: exactly that image, even if the tag has moved since), else `image`.
 * `field` is the spec's request path, for the INVALID_ARGUMENT message.
 */
export function specImageRef(
  spec: { image?: string; image_ref?: string } | null | undefined,
  field: string,
): string {
  if (spec?.image_ref) return validateImageRef(spec.image_ref, `${field}.image_ref`);
  return validateImageRef(spec?.image, `${field}.image`);
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
