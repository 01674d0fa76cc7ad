import { ConfigError, configFileOrder, parseNetworkConfig } from '../../src/network/cni/config';
import { cniArgsText, delTakesPrevResult, pluginStdin } from '../../src/network/cni/runtime-config';

const list = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'podnet',
    plugins: [
      { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local' } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
    ...over,
  });

describe('parseNetworkConfig', () => {
  it('reads a conflist', () => {
    const n = parseNetworkConfig('/etc/cni/net.d/10-pod.conflist', list());
    expect(n.name).toBe('podnet');
    expect(n.cniVersion).toBe('1.0.0');
    expect(n.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(n.source).toBe('/etc/cni/net.d/10-pod.conflist');
  });

  it('wraps a single-plugin .conf into a list of one', () => {
    const n = parseNetworkConfig(
      'a.conf',
      JSON.stringify({ cniVersion: '0.4.0', name: 'one', type: 'bridge', bridge: 'x' }),
    );
    expect(n.plugins).toHaveLength(1);
    expect(n.plugins[0]).toMatchObject({ type: 'bridge', bridge: 'x' });
  });

  it('accepts a list written into a .conf file', () => {
    expect(parseNetworkConfig('a.conf', list()).plugins).toHaveLength(2);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no version', list({ cniVersion: undefined }), /no "cniVersion"/],
    ['an unknown version', list({ cniVersion: '9.9.9' }), /cniVersion "9.9.9"; supported/],
    ['0.2.0 in a list (no chaining)', list({ cniVersion: '0.2.0' }), /cniVersion "0.2.0"/],
    ['no name', list({ name: '' }), /no "name"/],
    ['a bad name', list({ name: 'a b' }), /invalid name "a b"/],
    ['no plugins', list({ plugins: [] }), /non-empty list/],
    ['a plugin without type', list({ plugins: [{ bridge: 'x' }] }), /plugins\[0\] has no "type"/],
    ['a plugin type that is a path', list({ plugins: [{ type: '../../bin/sh' }] }), /invalid type/],
    ['bad capabilities', list({ plugins: [{ type: 'x', capabilities: { a: 'yes' } }] }), /capabilities/],
  ])('refuses %s, naming the file', (_what, text, msg) => {
    const err = (() => {
      try {
        parseNetworkConfig('/d/bad.conflist', text);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a failure');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(msg);
    expect(err.message).toContain('/d/bad.conflist');
  });

  it('accepts 0.2.0 for a single plugin .conf', () => {
    const n = parseNetworkConfig(
      'lo.conf',
      JSON.stringify({ cniVersion: '0.2.0', name: 'lo', type: 'loopback' }),
    );
    expect(n.cniVersion).toBe('0.2.0');
  });
});

describe('configFileOrder', () => {
  it('keeps CNI extensions in lexical order like libcni', () => {
    expect(configFileOrder(['99-lo.conf', 'README', '10-b.conflist', '05-a.json', 'x.conf.bak'])).toEqual([
      '05-a.json',
      '10-b.conflist',
      '99-lo.conf',
    ]);
  });
});

describe('pluginStdin', () => {
  const n = parseNetworkConfig('a.conflist', list());
  const caps = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }],
    ipRanges: [[{ subnet: '10.1.0.0/24' }]],
  };

  it('injects name, version and prevResult', () => {
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/24' }] };
    const conf = pluginStdin(n, n.plugins[1], caps, prev);
    expect(conf).toMatchObject({ type: 'portmap', name: 'podnet', cniVersion: '1.0.0', prevResult: prev });
  });

  it('gives a plugin only the capabilities it declared', () => {
    expect(pluginStdin(n, n.plugins[1], caps, undefined).runtimeConfig).toEqual({
      portMappings: caps.portMappings,
    });
    expect(pluginStdin(n, n.plugins[0], caps, undefined)).not.toHaveProperty('runtimeConfig');
  });

  it('leaves out a declared capability the pod has no value for', () => {
    expect(pluginStdin(n, n.plugins[1], {}, undefined)).not.toHaveProperty('runtimeConfig');
  });

  it('overrides the list version on every plugin and never keeps a stale prevResult', () => {
    const m = parseNetworkConfig(
      'b.conflist',
      list({ plugins: [{ type: 'x', cniVersion: '0.3.1', prevResult: { stale: true } }] }),
    );
    const conf = pluginStdin(m, m.plugins[0], {}, undefined);
    expect(conf.cniVersion).toBe('1.0.0');
    expect(conf).not.toHaveProperty('prevResult');
  });
});

describe('CNI_ARGS and versions', () => {
  it('joins args as K=V;K=V', () => {
    expect(
      cniArgsText([
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web'],
      ]),
    ).toBe('IgnoreUnknown=1;K8S_POD_NAME=web');
  });

  it('hands DEL the cached result from 0.4.0 on', () => {
    expect(delTakesPrevResult('0.3.1')).toBe(false);
    expect(delTakesPrevResult('0.4.0')).toBe(true);
    expect(delTakesPrevResult('1.0.0')).toBe(true);
  });
});
