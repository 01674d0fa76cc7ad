import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ContainerStatsRequest__Output } from '../generated/runtime/v1/ContainerStatsRequest';
import type { ContainerStatsResponse } from '../generated/runtime/v1/ContainerStatsResponse';
import type { ListContainerStatsRequest__Output } from '../generated/runtime/v1/ListContainerStatsRequest';
import type { ListContainerStatsResponse } from '../generated/runtime/v1/ListContainerStatsResponse';
import type { ContainerStats } from '../generated/runtime/v1/ContainerStats';
import type { IndexedContainer } from '../docker/container-index';
import { invalidArgument, notFound } from '../grpc/status-error';
import { shownId } from '../lookup/request-ids';
import { requireEngine } from './engine-gate';
import { isContainerLabels, LABEL_SANDBOX_ID, matchesSelector } from '../translate/labels';
import { containerStats as toContainerStats } from '../translate/stats-cri';

/** Readings taken at once: enough to overlap file reads, few enough not to flood the disk. */
export const PARALLEL = 16;

/** Maps with at most `limit` calls in flight, keeping the order of `items`. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** One container's stats from the collector: cgroup files, and the last writable-layer walk. */
export async function statsOf(deps: Deps, c: IndexedContainer): Promise<ContainerStats> {
  return toContainerStats(c, await deps.stats.sample(c), deps.stats.layer(c.id));
}

export function containerStats(deps: Deps): UnaryImpl<ContainerStatsRequest__Output, ContainerStatsResponse> {
  return async (req) => {
    if (!req.container_id) throw invalidArgument('container_id is empty');
    requireEngine(deps);
    const id = deps.index.resolve(req.container_id, 'container');
    const c = id ? deps.index.get(id) : undefined;
    if (!c || !isContainerLabels(c.labels))
      throw notFound(`container "${shownId(req.container_id)}" not found`);
    return { stats: await statsOf(deps, c) };
  };
}

/** The containers a ListContainerStats filter picks, from the index (none when an id matches nothing). */
export function containersForStats(
  deps: Deps,
  f: ListContainerStatsRequest__Output['filter'] | undefined,
): IndexedContainer[] {
  requireEngine(deps);
  // An id or pod that matches nothing is an empty answer, as in ListContainers.
  const id = f?.id ? deps.index.resolve(f.id, 'container') : undefined;
  if (f?.id && !id) return [];
  const sandboxId = f?.pod_sandbox_id ? deps.index.resolve(f.pod_sandbox_id, 'pod sandbox') : undefined;
  if (f?.pod_sandbox_id && !sandboxId) return [];
  return deps.index
    .list()
    .filter(
      (c) =>
        isContainerLabels(c.labels) &&
        (!id || c.id === id) &&
        (!sandboxId || c.labels[LABEL_SANDBOX_ID] === sandboxId) &&
        matchesSelector(c.labels, f?.label_selector),
    );
}

export function listContainerStats(
  deps: Deps,
): UnaryImpl<ListContainerStatsRequest__Output, ListContainerStatsResponse> {
  return async (req) => ({
    stats: await mapBounded(containersForStats(deps, req.filter), PARALLEL, (c) => statsOf(deps, c)),
  });
}
