import type { ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ContainerStatusRequest__Output } from '../generated/runtime/v1/ContainerStatusRequest';
import type { ContainerStatusResponse } from '../generated/runtime/v1/ContainerStatusResponse';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import { DRAIN_WAIT_MS } from '../logs/log-manager';
import {
  containerVerboseInfo,
  criState,
  parseProcStatusIds,
  toContainerStatus,
  type ProcessIds,
  type StatusExtras,
} from '../translate/container-status';
import { findContainer, indexedContainer } from '../lookup/find-container';
import { readPseudoFile } from '../stats/cgroups';
import { LABEL_LOG_PATH } from '../translate/labels';

/** The main process's ids as the kernel sees them (readable when we share the host's /proc). */
function processIds(pid: number | undefined): ProcessIds | undefined {
  if (!pid) return undefined;
  const status = readPseudoFile(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  try {
    return parseProcStatusIds(status);
  } catch {
    return undefined;
  }
}

/**
 * The CRI status of one container (id or unambiguous prefix): one inspect, plus the process's
 * ids. NOT_FOUND when there is no such container.
 */
export async function containerStatusOf(deps: Deps, id: string): Promise<ContainerStatus> {
  return (await statusWithInspect(deps, id)).status;
}

async function statusWithInspect(
  deps: Deps,
  id: string,
): Promise<{ status: ContainerStatus; inspect: ContainerInspectInfo }> {
  const inspect = await findContainer(deps, id);
  // The engine's event may still be on its way: bring the list up to what we just saw.
  if (deps.index.get(inspect.Id)?.state !== inspect.State?.Status)
    await deps.index.refresh(inspect.Id, 'status');
  const extras: StatusExtras = {};
  const state = criState(inspect.State?.Status);
  if (state === 'CONTAINER_EXITED') {
    // Reported EXITED only with all its output in the kubelet's log file (bounded wait).
    // Told what this inspect saw: the index may not have seen the exit yet.
    await deps.logs.awaitComplete([inspect.Id], Date.now() + DRAIN_WAIT_MS, {
      exited: true,
      logPath: inspect.Config?.Labels?.[LABEL_LOG_PATH],
    });
  }
  if (inspect.State?.Running) extras.user = processIds(inspect.State.Pid);
  return { status: toContainerStatus(inspect, extras), inspect };
}

/** ContainerStatus: the status, and with `verbose` the engine's details. */
export function containerStatus(
  deps: Deps,
): UnaryImpl<ContainerStatusRequest__Output, ContainerStatusResponse> {
  return async (req) => {
    if (!req.verbose) {
      // The kubelet asks for the status of every container of a pod it syncs, again and again; the
      // answer changes only with the state the index follows (see state/container-status-cache.ts).
      const known = indexedContainer(deps, req.container_id);
      if (known)
        return { status: await deps.statusCache.get(known, (id) => containerStatusOf(deps, id)), info: {} };
    }
    const { status, inspect } = await statusWithInspect(deps, req.container_id);
    return { status, info: req.verbose ? containerVerboseInfo(inspect) : {} };
  };
}
