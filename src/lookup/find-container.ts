import type { ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import type { IndexedContainer } from '../docker/container-index';
import { invalidArgument, notFound } from '../grpc/status-error';
import { isNotFound } from '../docker/errors';
import { isContainerLabels, LABEL_TYPE } from '../translate/labels';
import { idToLookUp, shownId } from './request-ids';

/**
 * The full id a hex id or prefix stands for, among Kubernetes containers and sandboxes only;
 * undefined when nothing matches. The index answers first; a prefix it does not know (made a moment
 * ago, its event not in yet) is asked of Docker's list filtered by our type label, so a prefix never
 * picks a container made outside Kubernetes, and two matches are refused rather than one guessed.
 */
export async function resolveHexId(deps: Deps, ref: string, what: string): Promise<string | undefined> {
  const known = deps.index.resolve(ref, what);
  if (known) return known;
  if (ref.length === 64) return ref;
  const list = await deps.engine.listContainers(
    { id: [ref], label: [LABEL_TYPE] },
    { context: `${what} "${ref}"` },
  );
  // Docker's id filter matches anywhere in the id; a prefix must match at the start.
  const ids = list.map((c) => c.Id).filter((id) => id.startsWith(ref));
  if (ids.length > 1) throw invalidArgument(`${what} id prefix "${ref}" is ambiguous`);
  return ids[0];
}

/**
 * A workload container by full id or unambiguous prefix, inspected; undefined when there is none:
 * no such id, an id that is not hex (see ids.ts), a sandbox's id, or a container made outside
 * Kubernetes.
 */
export async function findContainerIfExists(
  deps: Deps,
  idOrPrefix: string | undefined,
  field = 'container_id',
): Promise<ContainerInspectInfo | undefined> {
  const ref = idToLookUp(idOrPrefix, field, 'container');
  if (!ref) return undefined;
  const id = await resolveHexId(deps, ref, 'container');
  if (!id) return undefined;
  let inspect: ContainerInspectInfo;
  try {
    inspect = await deps.engine.inspectContainer(id, { context: `container "${ref}"` });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return isContainerLabels(inspect.Config?.Labels) ? inspect : undefined;
}

/** Like findContainerIfExists, but NOT_FOUND naming the id when there is no such container. */
export async function findContainer(
  deps: Deps,
  idOrPrefix: string | undefined,
  field = 'container_id',
): Promise<ContainerInspectInfo> {
  const found = await findContainerIfExists(deps, idOrPrefix, field);
  if (!found) throw notFound(`container "${shownId(idOrPrefix)}" not found`);
  return found;
}

/**
 * The index's entry of a workload container named by its full id; undefined for anything else (a
 * prefix, an unknown id, a sandbox). Answers kept per state are looked up with it.
 */
export function indexedContainer(deps: Deps, id: string): IndexedContainer | undefined {
  const c = deps.index.get(id);
  return c && isContainerLabels(c.labels) ? c : undefined;
}
