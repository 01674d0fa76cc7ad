import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ListMetricDescriptorsRequest__Output } from '../generated/runtime/v1/ListMetricDescriptorsRequest';
import type { ListMetricDescriptorsResponse } from '../generated/runtime/v1/ListMetricDescriptorsResponse';
import type { ListPodSandboxMetricsRequest__Output } from '../generated/runtime/v1/ListPodSandboxMetricsRequest';
import type { ListPodSandboxMetricsResponse } from '../generated/runtime/v1/ListPodSandboxMetricsResponse';
import type { PodSandboxMetrics } from '../generated/runtime/v1/PodSandboxMetrics';
import type { IndexedContainer } from '../docker/container-index';
import { isSandboxLabels } from '../translate/labels';
import { cgroupMetrics, metricDescriptors, networkMetrics } from '../translate/stats-metrics';
import { sumSamples, type CgroupSample } from '../translate/stats-cri';
import { mapBounded } from './container-stats';
import { podContainers } from '../lookup/sandbox-members';
import { requireEngine } from './engine-gate';

export function listMetricDescriptors(
  _deps: Deps,
): UnaryImpl<ListMetricDescriptorsRequest__Output, ListMetricDescriptorsResponse> {
  return async () => ({ descriptors: metricDescriptors() });
}

const subject = (c: IndexedContainer) => ({ id: c.id, name: c.name, image: c.image });

async function podMetrics(deps: Deps, sandbox: IndexedContainer): Promise<PodSandboxMetrics> {
  const members = podContainers(deps, sandbox.id);
  const [samples, pause, own, net] = await Promise.all([
    Promise.all(members.map((c) => deps.stats.sample(c))),
    deps.stats.sample(sandbox),
    deps.stats.podSample(sandbox),
    deps.stats.network(sandbox),
  ]);
  const at = BigInt(Date.now()) * 1_000_000n;
  const pod =
    own ??
    (sandbox.state === 'running'
      ? sumSamples(
          at,
          [pause, ...samples].filter((s): s is CgroupSample => s !== undefined),
        )
      : undefined);
  return {
    pod_sandbox_id: sandbox.id,
    metrics: [
      ...cgroupMetrics(subject(sandbox), pod, undefined),
      ...networkMetrics(subject(sandbox), at, net),
    ],
    container_metrics: members.map((c, i) => ({
      container_id: c.id,
      metrics: cgroupMetrics(subject(c), samples[i], deps.stats.layer(c.id)),
    })),
  };
}

export function listPodSandboxMetrics(
  deps: Deps,
): UnaryImpl<ListPodSandboxMetricsRequest__Output, ListPodSandboxMetricsResponse> {
  return async () => {
    requireEngine(deps);
    const sandboxes = deps.index.list().filter((s) => isSandboxLabels(s.labels) && s.state === 'running');
    return { pod_metrics: await mapBounded(sandboxes, 8, (s) => podMetrics(deps, s)) };
  };
}
