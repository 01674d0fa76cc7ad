import { addressOnly, parseResult, podIps, ResultError } from '../../src/network/cni/result';
import { pluginFailureText } from '../../src/network/cni/plugin-exec';

describe('parseResult', () => {
  const v1 = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'cni0', mac: 'aa:aa:aa:aa:aa:aa' },
      { name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb' },
      { name: 'eth0', mac: 'cc:cc:cc:cc:cc:cc', sandbox: '/proc/42/ns/net' },
    ],
    ips: [
      { interface: 2, address: 'fd00::5/64', gateway: 'fd00::1' },
      { interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' },
      { interface: 0, address: '10.244.1.1/24' },
    ],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
  };

  it('reads a 1.0.0 result', () => {
    const r = parseResult(JSON.stringify(v1), 'test');
    expect(r.interfaces).toHaveLength(3);
    expect(r.ips[1]).toEqual({ address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 2 });
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0', gw: undefined }]);
    expect(r.dns).toEqual({ servers: ['10.96.0.10'], searches: ['svc.cluster.local'] });
    expect(r.raw).toEqual(v1);
  });

  it('takes pod IPs from the pod interface only, IPv4 first', () => {
    expect(podIps(parseResult(JSON.stringify(v1), 'test'), 'eth0')).toEqual(['10.244.1.5', 'fd00::5']);
  });

  it('takes every non-loopback address when the result names no interfaces', () => {
    const r = parseResult(
      JSON.stringify({ cniVersion: '0.4.0', ips: [{ address: '127.0.0.1/8' }, { address: '10.0.0.9/16' }] }),
      't',
    );
    expect(podIps(r, 'eth0')).toEqual(['10.0.0.9']);
  });

  it('reads a 0.2.0 result (ip4/ip6)', () => {
    const r = parseResult(
      JSON.stringify({
        cniVersion: '0.2.0',
        ip4: { ip: '10.3.0.4/16', gateway: '10.3.0.1', routes: [{ dst: '0.0.0.0/0' }] },
        ip6: { ip: 'fd01::4/64' },
      }),
      't',
    );
    expect(podIps(r, 'eth0')).toEqual(['10.3.0.4', 'fd01::4']);
    expect(r.routes).toHaveLength(1);
  });

  it('refuses output that is not a result, naming the plugin', () => {
    expect(() => parseResult('oops', 'CNI plugin "x"')).toThrow(ResultError);
    expect(() => parseResult('oops', 'CNI plugin "x"')).toThrow(/CNI plugin "x"/);
    expect(() => parseResult('{"ips":[{}]}', 'p')).toThrow(/without "address"/);
  });

  it('strips prefixes', () => {
    expect(addressOnly('10.0.0.1/8')).toBe('10.0.0.1');
    expect(addressOnly('fd00::1/64')).toBe('fd00::1');
    expect(addressOnly('nonsense')).toBeUndefined();
  });
});

describe('pluginFailureText', () => {
  it('uses the spec error JSON: msg and details', () => {
    expect(
      pluginFailureText(
        JSON.stringify({
          cniVersion: '1.0.0',
          code: 11,
          msg: 'no IP addresses available',
          details: 'range full',
        }),
        '',
      ),
    ).toEqual({ text: 'no IP addresses available: range full', code: 11 });
  });

  it('falls back to stderr when stdout has no error JSON', () => {
    expect(pluginFailureText('', 'panic: boom\n')).toEqual({ text: 'panic: boom' });
  });
});
