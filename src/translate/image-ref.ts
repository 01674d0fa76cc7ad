/**
 * Image reference parsing, the way Docker reads `[registry/]repo[:tag][@digest]`. Pure: no I/O.
 */
export interface ImageReference {
  /** Repository as written, with its registry host when one was given. */
  repository: string;
  tag?: string;
  digest?: string;
  /** Host:port of the registry, or docker.io when none was given. */
  registry: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{64}$/;

export class ImageReferenceError extends Error {}

/** True for `sha256:<64 hex>` or bare 64 hex: an image id rather than a name. */
export function isImageId(ref: string): boolean {
  return IMAGE_ID.test(ref);
}

function looksLikeHost(component: string): boolean {
  return (
    component.includes('.') || component.includes(':') || component === 'localhost' || /[A-Z]/.test(component)
  );
}

export function parseImageReference(ref: string): ImageReference {
  if (ref === '') throw new ImageReferenceError('image reference is empty');
  if (ref.length > 4096) throw new ImageReferenceError('image reference is longer than 4096 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      throw new ImageReferenceError(`invalid digest "${digest}" in image reference "${ref}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageReferenceError(`invalid tag "${tag}" in image reference "${ref}"`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  let pathParts = parts;
  if (parts.length > 1 && looksLikeHost(parts[0])) {
    if (!HOST.test(parts[0]))
      throw new ImageReferenceError(`invalid registry host "${parts[0]}" in image reference "${ref}"`);
    registry = parts[0];
    pathParts = parts.slice(1);
  }
  for (const p of pathParts) {
    if (!PATH_COMPONENT.test(p)) {
      throw new ImageReferenceError(`invalid repository name "${rest}" in image reference "${ref}"`);
    }
  }
  return { repository: rest, tag, digest, registry };
}

/** What Docker's pull wants: repository, and tag or digest (`latest` when neither is given). */
export function pullTarget(ref: ImageReference): { fromImage: string; tag: string } {
  if (ref.digest) return { fromImage: ref.repository, tag: ref.digest };
  return { fromImage: ref.repository, tag: ref.tag ?? 'latest' };
}

/** The reference with `:latest` added when it names neither tag nor digest. */
export function withDefaultTag(ref: string): string {
  if (isImageId(ref)) return ref;
  const parsed = parseImageReference(ref);
  if (parsed.tag || parsed.digest) return ref;
  return `${ref}:latest`;
}
