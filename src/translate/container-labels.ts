/**
 * docker-cri's own labels on workload containers, beside dockershim's (labels.ts). dockershim kept
 * metadata only in the Docker name; these make it survive names the parser cannot split, and keep
 * what Docker does not remember (the image the kubelet asked for, resources Docker cannot express).
 * Containers made by dockershim or cri-dockerd lack them: readers fall back. Pure: no I/O.
 */
import { OWN_PREFIX } from './labels';
import { parseContainerName } from './names';

export const LABEL_CONTAINER_META_NAME = `${OWN_PREFIX}container.name`;
export const LABEL_CONTAINER_ATTEMPT = `${OWN_PREFIX}container.attempt`;
/** ImageSpec.image as the kubelet sent it (often an image id since kubelet 1.2x). */
export const LABEL_IMAGE = `${OWN_PREFIX}image`;
/** ImageSpec.user_specified_image: what the pod spec says. */
export const LABEL_USER_IMAGE = `${OWN_PREFIX}image.user-specified`;
/** The image's repo digest (or id) at create time, reported as image_ref. */
export const LABEL_IMAGE_REF = `${OWN_PREFIX}image.ref`;
/** JSON of the LinuxContainerResources asked for, for the parts Docker cannot hold (hugepages, unified). */
export const LABEL_RESOURCES = `${OWN_PREFIX}resources`;

export interface ContainerMeta {
  name: string;
  attempt: number;
}

/** CRI metadata of a container: our labels, else dockershim's name, else the bare Docker name. */
export function containerMeta(labels: Record<string, string>, dockerName: string): ContainerMeta {
  const name = labels[LABEL_CONTAINER_META_NAME];
  if (name) return { name, attempt: Number(labels[LABEL_CONTAINER_ATTEMPT] ?? 0) || 0 };
  const parsed = parseContainerName(dockerName);
  if (parsed) return { name: parsed.containerName, attempt: parsed.attempt };
  return { name: dockerName.replace(/^\//, ''), attempt: 0 };
}
