import type { Deps } from '../deps';
import { listStream, type ListStreamCall } from '../grpc/list-stream';
import type { StreamContainerStatsRequest__Output } from '../generated/runtime/v1/StreamContainerStatsRequest';
import type { StreamPodSandboxStatsRequest__Output } from '../generated/runtime/v1/StreamPodSandboxStatsRequest';
import type { StreamPodSandboxMetricsRequest__Output } from '../generated/runtime/v1/StreamPodSandboxMetricsRequest';
import { listContainerStats } from './container-stats';
import { listPodSandboxStats } from './pod-sandbox-stats';
import { listPodSandboxMetrics } from './metric-descriptors';

/** StreamContainerStats: ListContainerStats' answer in chunks. */
export function streamContainerStats(deps: Deps): ListStreamCall<StreamContainerStatsRequest__Output> {
  const list = listContainerStats(deps);
  return listStream<StreamContainerStatsRequest__Output, object>('StreamContainerStats', async (req, ctx) => {
    const res = await list({ filter: req.filter }, ctx);
    return res.stats ?? [];
  });
}

/** StreamPodSandboxStats: ListPodSandboxStats' answer in chunks. */
export function streamPodSandboxStats(deps: Deps): ListStreamCall<StreamPodSandboxStatsRequest__Output> {
  const list = listPodSandboxStats(deps);
  return listStream<StreamPodSandboxStatsRequest__Output, object>(
    'StreamPodSandboxStats',
    async (req, ctx) => {
      const res = await list({ filter: req.filter }, ctx);
      return res.stats ?? [];
    },
  );
}

/** StreamPodSandboxMetrics: ListPodSandboxMetrics' answer in chunks. */
export function streamPodSandboxMetrics(deps: Deps): ListStreamCall<StreamPodSandboxMetricsRequest__Output> {
  const list = listPodSandboxMetrics(deps);
  return listStream<StreamPodSandboxMetricsRequest__Output, object>(
    'StreamPodSandboxMetrics',
    async (_req, ctx) => {
      const res = await list({}, ctx);
      return res.pod_metrics ?? [];
    },
  );
}
