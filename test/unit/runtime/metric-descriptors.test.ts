import type { ListMetricDescriptorsRequest__Output } from '../../../src/generated/runtime/v1/ListMetricDescriptorsRequest';
import type { ListPodSandboxMetricsRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxMetricsRequest';
import { listMetricDescriptors, listPodSandboxMetrics } from '../../../src/runtime/metric-descriptors';
import { callContext, criRequest, fakeDeps } from '../../support/fake-deps';
import { runSandbox, withImages } from '../../support/cri-fixtures';

describe('ListMetricDescriptors and ListPodSandboxMetrics', () => {
  it('describes each metric once, with its help and labels, without asking Docker', async () => {
    const world = fakeDeps();
    const res = await listMetricDescriptors(world.deps)(
      criRequest<ListMetricDescriptorsRequest__Output>('ListMetricDescriptorsRequest'),
      callContext(),
    );
    const names = res.descriptors?.map((d) => d.name) ?? [];
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    for (const d of res.descriptors ?? []) expect(d.help).toBeTruthy();
    expect(world.fake.calls).toEqual([]);
  });

  it('has no pod metrics while no pod runs (a stopped pod is left out)', async () => {
    const world = withImages(fakeDeps());
    const id = await runSandbox(world);
    await world.deps.engine.stopContainer(id, 0);
    const res = await listPodSandboxMetrics(world.deps)(
      criRequest<ListPodSandboxMetricsRequest__Output>('ListPodSandboxMetricsRequest'),
      callContext(),
    );
    expect(res.pod_metrics).toEqual([]);
  });
});
