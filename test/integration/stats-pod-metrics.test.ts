import { startShim, type TestShim } from '../support/shim';
import { PodFactory } from './stats-helpers';
import type { MetricDescriptor__Output } from '../../src/generated/runtime/v1/MetricDescriptor';
import type { PodSandboxMetrics__Output } from '../../src/generated/runtime/v1/PodSandboxMetrics';

// The project-level testTimeout is not applied to every run; these tests poll a real engine.
jest.setTimeout(120_000);

describe('ListMetricDescriptors and ListPodSandboxMetrics', () => {
  let shim: TestShim;
  const pods = new PodFactory();
  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await pods.cleanup();
    await shim.stop();
  });

  it('reports described cAdvisor-style metrics for a pod and its containers', async () => {
    const pod = await pods.sandbox('pmetrics');
    const id = await pods.container(pod, 'sleep', ['sleep', '3600']);
    await Promise.all([pod.id, id].map((x) => shim.app.deps.index.refresh(x)));

    const { descriptors } = await shim.client.rt<{ descriptors: MetricDescriptor__Output[] }>(
      'ListMetricDescriptors',
      {},
    );
    const byName = new Map(descriptors.map((d) => [d.name, d]));
    expect(byName.get('container_memory_working_set_bytes')?.label_keys).toEqual(['id', 'name', 'image']);

    const { pod_metrics } = await shim.client.rt<{ pod_metrics: PodSandboxMetrics__Output[] }>(
      'ListPodSandboxMetrics',
      {},
    );
    const mine = pod_metrics.find((p) => p.pod_sandbox_id === pod.id);
    expect(mine).toBeDefined();
    const podNames = mine!.metrics.map((m) => m.name);
    expect(podNames).toContain('container_network_receive_bytes_total');
    expect(podNames).toContain('container_memory_working_set_bytes');
    const eth0 = mine!.metrics.find(
      (m) => m.name === 'container_network_transmit_bytes_total' && m.label_values[3] === 'eth0',
    );
    expect(eth0?.metric_type).toBe('COUNTER');
    const c = mine!.container_metrics.find((x) => x.container_id === id);
    const ws = c?.metrics.find((m) => m.name === 'container_memory_working_set_bytes');
    expect(ws?.metric_type).toBe('GAUGE');
    expect(Number(ws?.value?.value)).toBeGreaterThan(0);
    expect(ws?.label_values[0]).toBe(id);
    for (const m of [...mine!.metrics, ...c!.metrics]) {
      expect(m.label_values).toHaveLength(byName.get(m.name)!.label_keys.length);
    }
  });
});
