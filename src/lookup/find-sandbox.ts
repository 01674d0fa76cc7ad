import type { ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import type { IndexedContainer } from '../docker/container-index';
import type { NamespaceOption__Output } from '../generated/runtime/v1/NamespaceOption';
import { invalidArgument, notFound } from '../grpc/status-error';
import { isNotFound } from '../docker/errors';
import { isSandboxLabels } from '../translate/labels';
import { idToLookUp, shownId } from './request-ids';
import { resolveHexId } from './find-container';
import { sandboxNamespaces } from '../translate/sandbox-status';
import type { SandboxNamespaces } from '../translate/sandbox-config';

export interface FoundSandbox {
  /** Full 64-hex id. */
  id: string;
  inspect: ContainerInspectInfo;
}

/**
 * The sandbox for a full id or unambiguous prefix, with its inspect; undefined when there is none
 * (also for an id that is not hex: see ids.ts). The index answers first; a sandbox it has not seen
 * yet (just made elsewhere) is asked of Docker.
 */
export async function findSandboxIfExists(
  deps: Deps,
  idOrPrefix: string,
  field = 'pod_sandbox_id',
): Promise<FoundSandbox | undefined> {
  const ref = idToLookUp(idOrPrefix, field, 'pod sandbox');
  if (!ref) return undefined;
  const id = await resolveHexId(deps, ref, 'pod sandbox');
  if (!id) return undefined;
  let inspect: ContainerInspectInfo;
  try {
    inspect = await deps.engine.inspectContainer(id, { context: `pod sandbox "${ref}"` });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (!isSandboxLabels(inspect.Config?.Labels)) return undefined;
  return { id: inspect.Id, inspect };
}

/** Like findSandboxIfExists, but NOT_FOUND naming the id when there is no such sandbox. */
export async function findSandbox(
  deps: Deps,
  idOrPrefix: string,
  field = 'pod_sandbox_id',
): Promise<FoundSandbox> {
  const found = await findSandboxIfExists(deps, idOrPrefix, field);
  if (!found) throw notFound(`pod sandbox "${shownId(idOrPrefix)}" not found`);
  return found;
}

/**
 * The index's entry of a sandbox named by its full id; undefined for anything else (a prefix, an
 * unknown id, a workload container). Answers kept per state are looked up with it.
 */
export function indexedSandbox(deps: Deps, id: string): IndexedContainer | undefined {
  const c = deps.index.get(id);
  return c && isSandboxLabels(c.labels) ? c : undefined;
}

/** The sandbox's full id from the index alone (no Docker call); undefined when unknown. */
export function resolveSandboxId(deps: Deps, idOrPrefix: string): string | undefined {
  const id = deps.index.resolve(idOrPrefix, 'pod sandbox');
  return id && isSandboxLabels(deps.index.get(id)?.labels) ? id : undefined;
}

export { sandboxNamespaces };
export type { SandboxNamespaces };

/** How a workload container joins its sandbox, as Docker HostConfig fields. */
export interface JoinModes {
  NetworkMode: string;
  IpcMode: string;
  PidMode: string;
  /** "host" for a host-network pod, so that the container sees the node's hostname. */
  UTSMode: string;
}

/**
 * The namespace modes of a container in sandbox `sandboxId`: network and IPC always those of the
 * pause container (which may itself be the host's); PID per the container's own option — NODE the
 * host's, POD the pause container's, TARGET another container's, CONTAINER its own.
 */
export function containerJoinModes(
  sandboxId: string,
  sandboxNs: SandboxNamespaces,
  containerNs: NamespaceOption__Output | null | undefined,
): JoinModes {
  const join = `container:${sandboxId}`;
  const pidMode = containerNs?.pid ?? sandboxNs.pid;
  let PidMode = '';
  if (pidMode === 'NODE') PidMode = 'host';
  else if (pidMode === 'POD') PidMode = join;
  else if (pidMode === 'TARGET') {
    if (!containerNs?.target_id) {
      throw invalidArgument(
        'config.linux.security_context.namespace_options.target_id is empty for pid TARGET',
      );
    }
    PidMode = `container:${containerNs.target_id}`;
  }
  return {
    NetworkMode: join,
    IpcMode: join,
    PidMode,
    UTSMode: sandboxNs.network === 'NODE' ? 'host' : '',
  };
}
