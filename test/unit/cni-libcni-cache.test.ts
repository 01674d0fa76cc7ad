import { fromLibcniCache, libcniCachePath, toLibcniCache } from '../../src/network/cni/libcni-cache';
import type { NetworkRecord } from '../../src/network/cni/result-store';

const record: NetworkRecord = {
  version: 1,
  sandboxId: 'ab'.repeat(32),
  networkName: 'podnet',
  source: '/etc/cni/net.d/10-pod.conflist',
  config: JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', plugins: [{ type: 'bridge' }] }),
  ifName: 'eth0',
  args: [['K8S_POD_NAME', 'web']],
  capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: '/proc/1/ns/net' }],
    ips: [{ interface: 0, address: '10.244.3.7/24' }],
  },
  podIps: ['10.244.3.7'],
};

describe("libcni's result cache format", () => {
  it('is named <network>-<container>-<ifname> under results/', () => {
    expect(libcniCachePath('/var/lib/cni/cache', 'podnet', 'abc', 'eth0')).toBe(
      '/var/lib/cni/cache/results/podnet-abc-eth0',
    );
  });

  it('keeps the configuration as base64 bytes, as Go does for []byte', () => {
    const c = toLibcniCache(record, '/proc/1/ns/net');
    expect(c.kind).toBe('cniCacheV1');
    expect(Buffer.from(c.config, 'base64').toString()).toBe(record.config);
    expect(c.cniArgs).toEqual(record.args);
  });

  it('reads back into a record with the pod IPs', () => {
    const back = fromLibcniCache('/c/results/x', JSON.stringify(toLibcniCache(record, '')));
    expect(back).toMatchObject({
      sandboxId: record.sandboxId,
      networkName: 'podnet',
      config: record.config,
      ifName: 'eth0',
      args: record.args,
      capabilityArgs: record.capabilityArgs,
      podIps: ['10.244.3.7'],
      source: '/c/results/x',
    });
  });

  it('ignores files that are not cache entries', () => {
    expect(fromLibcniCache('f', 'nope')).toBeUndefined();
    expect(fromLibcniCache('f', JSON.stringify({ kind: 'other' }))).toBeUndefined();
  });
});
