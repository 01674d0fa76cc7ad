import { FLAGS, parseArgs, UsageError, type Config } from '../../src/config';
import { ConfigFileError, parseConfigFile } from '../../src/config-file';

const files: Record<string, string> = {};
const read = (file: string): string => {
  if (!(file in files)) throw new Error(`ENOENT: no such file or directory, open '${file}'`);
  return files[file];
};
function run(argv: string[]): Config {
  const parsed = parseArgs(argv, {}, read);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.config;
}

describe('--config YAML file', () => {
  it('holds the same settings as the flags, keyed by flag name', () => {
    files['/etc/dcri.yaml'] = [
      '# a node config',
      'container-runtime-endpoint: unix:///run/other.sock',
      'docker-endpoint: "unix:///var/run/docker.sock"',
      'streaming-bind-addr: 127.0.0.1:10010',
      'log-level: debug',
      'image-pull-progress-deadline: 30',
      'docker-call-timeout: "45"',
      'metrics-bind-addr: ""',
      'network-plugin: cni',
    ].join('\n');
    expect(run(['--config', '/etc/dcri.yaml'])).toMatchObject({
      containerRuntimeEndpoint: 'unix:///run/other.sock',
      dockerEndpoint: 'unix:///var/run/docker.sock',
      streamingBindAddr: '127.0.0.1:10010',
      logLevel: 'debug',
      imagePullProgressDeadlineSeconds: 30,
      dockerCallTimeoutSeconds: 45,
      metricsBindAddr: '',
      networkPlugin: 'cni',
      configFile: '/etc/dcri.yaml',
      // untouched settings keep their defaults
      podInfraContainerImage: 'registry.k8s.io/pause:3.10',
    });
  });

  it("takes cri-dockerd's settings in their own syntax: Go durations, booleans, no-effect keys with a warning", () => {
    files['/cri-dockerd.yaml'] = [
      'image-pull-progress-deadline: 1m30s',
      'runtime-request-timeout: "2m"',
      'ipv6-dual-stack: true',
      'network-plugin-mtu: 1450',
      'cri-dockerd-root-directory: /var/lib/cri-dockerd',
    ].join('\n');
    const parsed = parseArgs(['--config', '/cri-dockerd.yaml'], {}, read);
    expect(parsed).toMatchObject({
      kind: 'run',
      config: {
        imagePullProgressDeadlineSeconds: 90,
        dockerCallTimeoutSeconds: 120,
        ipv6DualStack: true,
        networkPluginMtu: 1450,
        rootDirectory: '/var/lib/cri-dockerd',
      },
    });
    expect(parsed.kind === 'run' && parsed.warnings.map((w) => w.split(' ')[0]).sort()).toEqual([
      '--ipv6-dual-stack',
      '--network-plugin-mtu',
    ]);
    files['/bool.yaml'] = 'ipv6-dual-stack: sometimes\n';
    expect(() => parseArgs(['--config', '/bool.yaml'], {}, read)).toThrow(
      /--ipv6-dual-stack needs true or false/,
    );
  });

  it('lets flags override the file wherever --config stands', () => {
    files['/c.yaml'] = 'log-level: debug\nroot-directory: /srv/dcri\n';
    for (const argv of [
      ['--log-level', 'warn', '--config', '/c.yaml'],
      ['--config=/c.yaml', '--log-level=warn'],
    ]) {
      expect(run(argv)).toMatchObject({ logLevel: 'warn', rootDirectory: '/srv/dcri' });
    }
  });

  it('accepts an empty file and keys written with --', () => {
    files['/empty.yaml'] = '# nothing here\n';
    expect(run(['--config', '/empty.yaml']).logLevel).toBe('info');
    files['/dashed.yaml'] = '--log-level: error\n';
    expect(run(['--config', '/dashed.yaml']).logLevel).toBe('error');
  });

  it.each([
    ['/missing.yaml', undefined, /--config: cannot read \/missing\.yaml: ENOENT/],
    ['/typo.yaml', 'log-levle: debug\n', /\/typo\.yaml: unknown setting "log-levle"/],
    ['/nested.yaml', 'config: /other.yaml\n', /unknown setting "config"/],
    ['/list.yaml', '- log-level\n', /expected a mapping/],
    ['/scalar.yaml', 'just text\n', /expected a mapping/],
    ['/dup.yaml', 'log-level: debug\nlog-level: warn\n', /\/dup\.yaml: Map keys must be unique/],
    ['/bad-yaml.yaml', 'log-level: [debug\n', /\/bad-yaml\.yaml: /],
    [
      '/null.yaml',
      'pod-infra-container-image:\n',
      /"pod-infra-container-image" needs a string, got an empty value/,
    ],
    ['/nested-map.yaml', 'log-level:\n  x: 1\n', /"log-level" needs a string, .*got a mapping/],
    ['/num-for-string.yaml', 'streaming-bind-addr: 10010\n', /"streaming-bind-addr" needs a string/],
    [
      '/bad-number.yaml',
      'docker-call-timeout: soon\n',
      /\/bad-number\.yaml: flag --docker-call-timeout needs a positive number/,
    ],
    ['/bad-level.yaml', 'log-level: loud\n', /--log-level must be/],
  ])('refuses %s with a message naming the file and key', (file, text, msg) => {
    if (text !== undefined) files[file] = text;
    expect(() => parseArgs(['--config', file], {}, read)).toThrow(UsageError);
    expect(() => parseArgs(['--config', file], {}, read)).toThrow(msg);
  });

  it('parseConfigFile reports ConfigFileError on its own', () => {
    expect(() => parseConfigFile('nope: 1', 'f.yaml', FLAGS)).toThrow(ConfigFileError);
    expect(parseConfigFile('log-level: warn', 'f.yaml', FLAGS)).toEqual([
      { spec: FLAGS.find((f) => f.name === 'log-level'), value: 'warn' },
    ]);
  });

  it('lists --config in --help like every other flag', () => {
    expect(FLAGS.some((f) => f.name === 'config')).toBe(true);
  });
});
