import type { Deps } from '../deps';
import { listStream, type ListStreamCall } from '../grpc/list-stream';
import type { StreamContainerStatsRequest__Output } from '../generated/runtime/v1/StreamContainerStatsRequest';
import type { StreamPodSandboxStatsRequest__Output } from '../generated/runtime/v1/StreamPodSandboxStatsRequest';
import type { StreamPodSandboxMetricsRequest__Output } from '../generated/runtime/v1/StreamPodSandboxMetricsRequest';
import { containersForStats, mapBounded, PARALLEL as CONTAINER_PARALLEL, statsOf } from './container-stats';
import { PARALLEL as POD_PARALLEL, membersByPod, podStatsOf, sandboxesForStats } from './pod-sandbox-stats';
import { listPodSandboxMetrics } from './metric-descriptors';

/** Readings per batch: sent while the next batch is read; a cancelled call reads no further batch. */
const BATCH = 128;

/** `fn` over `subjects`, BATCH at a time (each batch with the unary list's parallelism), in order. */
async function* inBatches<T, R>(
  subjects: T[],
  parallel: number,
  signal: AbortSignal,
  fn: (t: T) => Promise<R>,
): AsyncGenerator<R[]> {
  for (let i = 0; i < subjects.length && !signal.aborted; i += BATCH) {
    yield await mapBounded(subjects.slice(i, i + BATCH), parallel, fn);
  }
}

/** StreamContainerStats: ListContainerStats' filter and readings, sent batch by batch. */
export function streamContainerStats(deps: Deps): ListStreamCall<StreamContainerStatsRequest__Output> {
  return listStream<StreamContainerStatsRequest__Output, object>('StreamContainerStats', (req, ctx) =>
    inBatches(containersForStats(deps, req.filter), CONTAINER_PARALLEL, ctx.signal, (c) => statsOf(deps, c)),
  );
}

/** StreamPodSandboxStats: ListPodSandboxStats' filter and readings, sent batch by batch. */
export function streamPodSandboxStats(deps: Deps): ListStreamCall<StreamPodSandboxStatsRequest__Output> {
  return listStream<StreamPodSandboxStatsRequest__Output, object>('StreamPodSandboxStats', (req, ctx) => {
    const members = membersByPod(deps);
    return inBatches(sandboxesForStats(deps, req.filter), POD_PARALLEL, ctx.signal, (s) =>
      podStatsOf(deps, s, members.get(s.id) ?? []),
    );
  });
}

/** StreamPodSandboxMetrics: ListPodSandboxMetrics' answer in chunks. */
export function streamPodSandboxMetrics(deps: Deps): ListStreamCall<StreamPodSandboxMetricsRequest__Output> {
  const list = listPodSandboxMetrics(deps);
  return listStream<StreamPodSandboxMetricsRequest__Output, object>(
    'StreamPodSandboxMetrics',
    async (_req, ctx) => (await list({}, ctx)).pod_metrics ?? [],
  );
}
