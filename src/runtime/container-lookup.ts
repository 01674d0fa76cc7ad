import type { ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import { notFound } from '../grpc/status-error';
import { isNotFound } from '../docker/errors';
import { isContainerLabels } from '../translate/labels';
import { checkId } from './ids';

/**
 * A workload container by full id or unambiguous prefix, inspected; undefined when there is none
 * (a sandbox's id is not a container's). The index resolves prefixes; a container it has not seen
 * yet is asked of Docker directly.
 */
export async function findContainerIfExists(
  deps: Deps,
  idOrPrefix: string | undefined,
  field = 'container_id',
): Promise<ContainerInspectInfo | undefined> {
  const given = checkId(idOrPrefix, field, 'container');
  const id = deps.index.resolve(given, 'container') ?? given;
  let inspect: ContainerInspectInfo;
  try {
    inspect = await deps.engine.inspectContainer(id, { context: `container "${idOrPrefix}"` });
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
  if (!found) throw notFound(`container "${idOrPrefix}" not found`);
  return found;
}
