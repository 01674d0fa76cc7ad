import type { PodSandboxConfig__Output } from '../../src/generated/runtime/v1/PodSandboxConfig';
import {
  capabilityArgsFor,
  cniArgsFor,
  parseQuantity,
  PodNetworkInputError,
  usesHostNetwork,
} from '../../src/network/cni/pod-capabilities';
import { parseCidr, splitPodCidrs } from '../../src/network/cni/pod-cidr';

function pod(over: Partial<PodSandboxConfig__Output> = {}): PodSandboxConfig__Output {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 0 },
    hostname: 'web',
    log_directory: '/tmp',
    dns_config: null,
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: null,
    windows: null,
    ...over,
  };
}

describe('capabilityArgsFor', () => {
  it('is empty for a plain pod without pod CIDR', () => {
    expect(capabilityArgsFor(pod(), [])).toEqual({});
  });

  it('passes host ports only, with lower-case protocols and the host IP', () => {
    const caps = capabilityArgsFor(
      pod({
        port_mappings: [
          { protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '127.0.0.1' },
          { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '' },
          { protocol: 'TCP', container_port: 9000, host_port: 0, host_ip: '' },
        ],
      }),
      [],
    );
    expect(caps.portMappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ]);
  });

  it('refuses a host port without a container port, naming the field', () => {
    expect(() =>
      capabilityArgsFor(
        pod({ port_mappings: [{ protocol: 'TCP', container_port: 0, host_port: 80, host_ip: '' }] }),
        [],
      ),
    ).toThrow(/config.port_mappings\[0\].container_port/);
  });

  it('turns the bandwidth annotations into bits per second', () => {
    const caps = capabilityArgsFor(
      pod({
        annotations: { 'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/egress-bandwidth': '1Mi' },
      }),
      [],
    );
    expect(caps.bandwidth).toMatchObject({ ingressRate: 10_000_000, egressRate: 1_048_576 });
    expect(caps.bandwidth?.ingressBurst).toBeGreaterThan(0);
  });

  it('refuses a bad bandwidth annotation, naming it', () => {
    expect(() =>
      capabilityArgsFor(pod({ annotations: { 'kubernetes.io/ingress-bandwidth': 'fast' } }), []),
    ).toThrow(PodNetworkInputError);
    expect(() =>
      capabilityArgsFor(pod({ annotations: { 'kubernetes.io/ingress-bandwidth': 'fast' } }), []),
    ).toThrow(/kubernetes.io\/ingress-bandwidth/);
  });

  it('gives one ipRanges set per pod CIDR', () => {
    expect(capabilityArgsFor(pod(), ['10.244.0.0/24', 'fd00::/64']).ipRanges).toEqual([
      [{ subnet: '10.244.0.0/24' }],
      [{ subnet: 'fd00::/64' }],
    ]);
  });

  it('passes the DNS config', () => {
    const caps = capabilityArgsFor(
      pod({ dns_config: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: ['ndots:5'] } }),
      [],
    );
    expect(caps.dns).toEqual({
      servers: ['10.96.0.10'],
      searches: ['svc.cluster.local'],
      options: ['ndots:5'],
    });
  });
});

describe('pod helpers', () => {
  it('builds the kubelet-style CNI_ARGS', () => {
    expect(cniArgsFor(pod(), 'abc')).toEqual([
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'default'],
      ['K8S_POD_NAME', 'web'],
      ['K8S_POD_INFRA_CONTAINER_ID', 'abc'],
      ['K8S_POD_UID', 'u-1'],
    ]);
  });

  it('knows host-network pods', () => {
    const host = pod({
      linux: {
        security_context: { namespace_options: { network: 'NODE' } },
      } as unknown as PodSandboxConfig__Output['linux'],
    });
    expect(usesHostNetwork(host)).toBe(true);
    expect(usesHostNetwork(pod())).toBe(false);
  });

  it('parses quantities and CIDRs', () => {
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity('1.5M')).toBe(1_500_000);
    expect(parseQuantity('-1')).toBeUndefined();
    expect(parseQuantity('0')).toBeUndefined();
    expect(parseCidr('10.244.0.0/16')).toEqual({ ip: '10.244.0.0', prefix: 16, family: 4 });
    expect(parseCidr('fd00::/64')?.family).toBe(6);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('nope')).toBeUndefined();
    expect(splitPodCidrs('10.244.0.0/24, fd00::/64')).toEqual(['10.244.0.0/24', 'fd00::/64']);
  });
});
