import { eventTypesFor } from '../../src/runtime/container-events';
import { cgroupMetrics, metricDescriptors, networkMetrics } from '../../src/translate/stats-metrics';
import type { IndexedContainer } from '../../src/docker/container-index';

const at = (state: string): IndexedContainer => ({
  id: 'x',
  name: 'x',
  labels: {},
  state,
  created: 0,
  image: 'busybox',
  imageId: 'sha256:1',
});

describe('index changes → CRI container events', () => {
  it.each([
    [undefined, 'created', ['CONTAINER_CREATED_EVENT']],
    [undefined, 'running', ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT']],
    [undefined, 'exited', ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT']],
    ['created', 'running', ['CONTAINER_STARTED_EVENT']],
    ['created', 'exited', ['CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT']],
    ['running', 'exited', ['CONTAINER_STOPPED_EVENT']],
    ['running', 'paused', []],
    ['exited', 'running', ['CONTAINER_STARTED_EVENT']],
    ['exited', 'removing', []],
    ['removing', 'exited', ['CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT']],
    ['exited', undefined, ['CONTAINER_DELETED_EVENT']],
    ['running', undefined, ['CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']],
    [undefined, undefined, []],
  ])('%s → %s', (before, after, expected) => {
    expect(eventTypesFor(before ? at(before) : undefined, after ? at(after) : undefined)).toEqual(expected);
  });
});

describe('cAdvisor-style metrics', () => {
  it('every metric names a descriptor and carries one value per label key', () => {
    const descriptors = new Map(metricDescriptors().map((d) => [d.name, d]));
    const subject = { id: 'c1', name: 'k8s_app', image: 'busybox' };
    const metrics = [
      ...cgroupMetrics(
        subject,
        {
          atNs: 5n,
          cpuNs: 1000n,
          memory: { usage: 10n, workingSet: 8n, rss: 4n, pageFaults: 2n, majorPageFaults: 0n },
          processes: 3n,
        },
        { atNs: 4n, mountpoint: '/x', bytes: 4096n, inodes: 2n },
      ),
      ...networkMetrics(subject, 6n, [
        { name: 'eth0', rxBytes: 1n, rxErrors: 0n, txBytes: 2n, txErrors: 0n },
      ]),
    ];
    expect(metrics).toHaveLength(13);
    for (const m of metrics) {
      const d = descriptors.get(m.name as string);
      expect(d).toBeDefined();
      expect(m.label_values).toHaveLength(d!.label_keys!.length);
    }
    const cpu = metrics.find((m) => m.name === 'container_cpu_usage_seconds_total');
    expect(cpu).toEqual({
      name: 'container_cpu_usage_seconds_total',
      timestamp: '5',
      metric_type: 'COUNTER',
      label_values: ['c1', 'k8s_app', 'busybox'],
      value: { value: '1000' },
    });
    expect(metrics.find((m) => m.name === 'container_network_receive_bytes_total')?.label_values).toEqual([
      'c1',
      'k8s_app',
      'busybox',
      'eth0',
    ]);
    expect(cgroupMetrics(subject, undefined, undefined)).toEqual([]);
  });
});
