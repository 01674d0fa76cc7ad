import { defaultInterface, parseNetDev } from '../../src/translate/stats-net';
import { sampleFromDockerStats, networkFromDockerStats } from '../../src/translate/stats-docker';
import { containerStats, networkUsage, sandboxAttributes, sumSamples } from '../../src/translate/stats-cri';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
  eth0:  123456     200    2    0    0     0          0         0     7890      50    3    0    0     0       0          0
  net1:      10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0
`;

describe('network counters', () => {
  it('parses /proc/<pid>/net/dev without loopback', () => {
    const ifaces = parseNetDev(NET_DEV);
    expect(ifaces).toEqual([
      { name: 'eth0', rxBytes: 123456n, rxErrors: 2n, txBytes: 7890n, txErrors: 3n },
      { name: 'net1', rxBytes: 10n, rxErrors: 0n, txBytes: 20n, txErrors: 0n },
    ]);
    expect(defaultInterface(ifaces)?.name).toBe('eth0');
  });

  it('builds NetworkUsage with eth0 as the default interface', () => {
    const n = networkUsage(42n, parseNetDev(NET_DEV));
    expect(n?.timestamp).toBe('42');
    expect(n?.default_interface?.rx_bytes).toEqual({ value: '123456' });
    expect(n?.interfaces).toHaveLength(2);
    expect(networkUsage(1n, [])?.default_interface).toBeNull();
    expect(networkUsage(1n, undefined)).toBeNull();
  });
});

describe("Docker's stats answer (fallback)", () => {
  it('reads a cgroup v1 engine answer', () => {
    const s = sampleFromDockerStats(
      {
        read: '2024-01-02T03:04:05.123456789Z',
        cpu_stats: { cpu_usage: { total_usage: 5_000_000 } },
        memory_stats: {
          usage: 10_000,
          limit: 1_000_000,
          stats: { total_inactive_file: 1000, total_rss: 4000, total_pgfault: 7, total_pgmajfault: 1 },
        },
        pids_stats: { current: 2 },
      },
      0n,
    );
    expect(s.atNs).toBe(BigInt(Date.parse('2024-01-02T03:04:05Z')) * 1_000_000n + 123456789n);
    expect(s.cpuNs).toBe(5_000_000n);
    expect(s.processes).toBe(2n);
    expect(s.memory).toEqual({
      usage: 10_000n,
      workingSet: 9000n,
      rss: 4000n,
      pageFaults: 7n,
      majorPageFaults: 1n,
      available: 991_000n,
    });
  });

  it('reads a cgroup v2 engine answer and networks', () => {
    const json = {
      memory_stats: { usage: 500, stats: { inactive_file: 100, anon: 300, pgfault: 2, pgmajfault: 0 } },
      networks: { eth0: { rx_bytes: 1, rx_errors: 0, tx_bytes: 2, tx_errors: 0 } },
    };
    const s = sampleFromDockerStats(json, 77n);
    expect(s.atNs).toBe(77n);
    expect(s.memory?.workingSet).toBe(400n);
    expect(s.memory?.rss).toBe(300n);
    expect(s.cpuNs).toBeUndefined();
    expect(networkFromDockerStats(json)).toEqual([
      { name: 'eth0', rxBytes: 1n, rxErrors: 0n, txBytes: 2n, txErrors: 0n },
    ]);
  });
});

describe('CRI stats messages', () => {
  const c = {
    id: 'c'.repeat(64),
    name: 'k8s_app_web-1_ns_uid-1_2',
    labels: {
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.container.name': 'app',
      'io.kubernetes.sandbox.id': 's'.repeat(64),
      'annotation.a': 'b',
      tier: 'front',
    },
  };

  it('names the container and carries cpu, memory and writable layer with decimal strings', () => {
    const st = containerStats(
      c,
      {
        atNs: 10n,
        cpuNs: 99n,
        nanoCores: 5n,
        memory: { usage: 3n, workingSet: 2n, rss: 1n, pageFaults: 4n, majorPageFaults: 0n },
      },
      { atNs: 9n, mountpoint: '/var/lib/docker/overlay2', bytes: 4096n, inodes: 3n },
    );
    expect(st.attributes).toEqual({
      id: c.id,
      metadata: { name: 'app', attempt: 2 },
      labels: { 'io.kubernetes.container.name': 'app', tier: 'front' },
      annotations: { a: 'b' },
    });
    expect(st.cpu).toEqual({
      timestamp: '10',
      usage_core_nano_seconds: { value: '99' },
      usage_nano_cores: { value: '5' },
    });
    expect(st.memory?.working_set_bytes).toEqual({ value: '2' });
    expect(st.memory?.available_bytes).toBeNull();
    expect(st.writable_layer?.used_bytes).toEqual({ value: '4096' });
    expect(st.writable_layer?.fs_id?.mountpoint).toBe('/var/lib/docker/overlay2');
  });

  it('leaves cpu and memory empty for a container that is not running', () => {
    const st = containerStats(c, undefined, undefined);
    expect(st.cpu).toBeNull();
    expect(st.memory).toBeNull();
    expect(st.writable_layer).toBeNull();
  });

  it('names a sandbox from its labels', () => {
    const a = sandboxAttributes({
      id: 's'.repeat(64),
      name: 'k8s_POD_web-1_ns_uid-1_3',
      labels: {
        'io.kubernetes.docker.type': 'podsandbox',
        'io.kubernetes.container.name': 'POD',
        'io.kubernetes.pod.name': 'web-1',
        'io.kubernetes.pod.namespace': 'ns',
        'io.kubernetes.pod.uid': 'uid-1',
      },
    });
    expect(a.metadata).toEqual({ name: 'web-1', namespace: 'ns', uid: 'uid-1', attempt: 3 });
    expect(a.labels).not.toHaveProperty('io.kubernetes.container.name');
  });

  it('sums container samples for a pod without a cgroup of its own', () => {
    const m = (n: bigint) => ({
      usage: n,
      workingSet: n,
      rss: n,
      pageFaults: n,
      majorPageFaults: n,
      available: 5n,
    });
    const s = sumSamples(100n, [
      { atNs: 1n, cpuNs: 10n, nanoCores: 1n, memory: m(2n), processes: 1n },
      { atNs: 2n, cpuNs: 20n, memory: m(3n), processes: 2n },
    ]);
    expect(s).toEqual({
      atNs: 100n,
      cpuNs: 30n,
      nanoCores: 1n,
      processes: 3n,
      memory: { ...m(5n), available: undefined },
    });
    expect(sumSamples(1n, [])).toEqual({ atNs: 1n });
  });
});
