/** Index entries → CRI Container, and the ListContainers filter. Pure: no I/O. */
import type { Container } from '../generated/runtime/v1/Container';
import type { ContainerFilter__Output } from '../generated/runtime/v1/ContainerFilter';
import type { ListedContainer } from './listed-container';
import { LABEL_SANDBOX_ID, decodeLabels, isContainerLabels, matchesSelector } from './labels';
import { secondsToNanos } from './time';
import { LABEL_IMAGE, LABEL_IMAGE_REF, LABEL_USER_IMAGE, containerMeta } from './container-labels';
import { criState } from './container-status';

function imageId(id: string): string {
  if (!id) return '';
  return id.includes(':') ? id : `sha256:${id}`;
}

export function toCriContainer(c: ListedContainer): Container {
  const { labels, annotations } = decodeLabels(c.labels);
  return {
    id: c.id,
    pod_sandbox_id: c.labels[LABEL_SANDBOX_ID] ?? '',
    metadata: containerMeta(c.labels, c.name),
    image: {
      image: c.labels[LABEL_IMAGE] || c.image,
      user_specified_image: c.labels[LABEL_USER_IMAGE] ?? '',
    },
    image_ref: c.labels[LABEL_IMAGE_REF] || imageId(c.imageId),
    image_id: imageId(c.imageId),
    state: criState(c.state),
    created_at: secondsToNanos(c.created),
    labels,
    annotations,
  };
}

/**
 * Whether `c` passes `filter`. Ids and sandbox ids match in full or by prefix (as crictl sends
 * them); the label selector is matched against the CRI labels.
 */
export function matchesContainerFilter(
  c: ListedContainer,
  filter: ContainerFilter__Output | null | undefined,
): boolean {
  if (!isContainerLabels(c.labels)) return false;
  if (!filter) return true;
  if (filter.id && !c.id.startsWith(filter.id)) return false;
  if (filter.pod_sandbox_id && !(c.labels[LABEL_SANDBOX_ID] ?? '').startsWith(filter.pod_sandbox_id))
    return false;
  if (filter.state && criState(c.state) !== filter.state.state) return false;
  if (filter.label_selector && Object.keys(filter.label_selector).length) {
    if (!matchesSelector(decodeLabels(c.labels).labels, filter.label_selector)) return false;
  }
  return true;
}

// Index entries are replaced, never changed, when their container changes: one translation each.
const translated = new WeakMap<ListedContainer, Container>();
function criContainerOf(c: ListedContainer): Container {
  let out = translated.get(c);
  if (!out) {
    out = toCriContainer(c);
    translated.set(c, out);
  }
  return out;
}

export function listContainers(
  all: ListedContainer[],
  filter: ContainerFilter__Output | null | undefined,
): Container[] {
  return all.filter((c) => matchesContainerFilter(c, filter)).map(criContainerOf);
}
