/**
 * The Docker labels that carry everything a CRI answer needs. Keys are the ones dockershim and
 * cri-dockerd wrote, so that containers they made are read as our own (in-place migration).
 * Pure: no I/O.
 */
export const LABEL_TYPE = 'io.kubernetes.docker.type';
export const TYPE_SANDBOX = 'podsandbox';
export const TYPE_CONTAINER = 'container';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';
export const LABEL_LOG_PATH = 'io.kubernetes.container.logpath';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const SANDBOX_CONTAINER_NAME = 'POD';
export const ANNOTATION_PREFIX = 'annotation.';
/** Keys of our own (not in dockershim's set); stripped from answers like the ones above. */
export const OWN_PREFIX = 'io.docker-cri.';

export type Labels = Record<string, string>;

/** CRI labels + annotations → Docker labels, with the internal keys added by the caller. */
export function encodeLabels(
  labels: Labels | undefined,
  annotations: Labels | undefined,
  internal: Labels,
): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(annotations ?? {})) out[ANNOTATION_PREFIX + k] = v;
  for (const [k, v] of Object.entries(internal)) out[k] = v;
  return out;
}

const INTERNAL_KEYS = new Set([LABEL_TYPE, LABEL_SANDBOX_ID, LABEL_LOG_PATH]);

/** Docker labels → the CRI labels and annotations the kubelet gave us, internal keys removed. */
export function decodeLabels(
  docker: Labels | undefined,
  isSandbox = false,
): { labels: Labels; annotations: Labels } {
  const labels: Labels = {};
  const annotations: Labels = {};
  // for-in, not Object.entries: every status, list and stats answer decodes each container's labels,
  // and the pair arrays were garbage of their own (Docker's labels are plain objects, from JSON).
  for (const k in docker) {
    if (!Object.prototype.hasOwnProperty.call(docker, k)) continue;
    const v = docker[k];
    if (k.startsWith(ANNOTATION_PREFIX)) annotations[k.slice(ANNOTATION_PREFIX.length)] = v;
    else if (INTERNAL_KEYS.has(k) || k.startsWith(OWN_PREFIX)) continue;
    else if (isSandbox && k === LABEL_CONTAINER_NAME && v === SANDBOX_CONTAINER_NAME) continue;
    else labels[k] = v;
  }
  return { labels, annotations };
}

export function isSandboxLabels(labels: Labels | undefined): boolean {
  return labels?.[LABEL_TYPE] === TYPE_SANDBOX;
}

export function isContainerLabels(labels: Labels | undefined): boolean {
  return labels?.[LABEL_TYPE] === TYPE_CONTAINER;
}

/** CRI label selector: every pair must be present with the same value. */
export function matchesSelector(labels: Labels, selector: Labels | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) {
    if (labels[k] !== v) return false;
  }
  return true;
}
