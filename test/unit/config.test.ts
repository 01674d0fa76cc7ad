import { FLAGS, helpText, parseArgs, UsageError, type Config } from '../../src/config';
import { formatGoDuration, parseGoDuration } from '../../src/go-duration';

describe('parseArgs', () => {
  it('uses cri-dockerd defaults and honours DOCKER_HOST', () => {
    const parsed = parseArgs([], { DOCKER_HOST: 'unix:///tmp/d.sock' });
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    expect(parsed.config.containerRuntimeEndpoint).toBe('unix:///run/docker-cri.sock');
    expect(parsed.config.dockerEndpoint).toBe('unix:///tmp/d.sock');
    expect(parsed.config.podInfraContainerImage).toBe('registry.k8s.io/pause:3.10');
    expect(parsed.config.streamingBindAddr).toBe('127.0.0.1:0');
    expect(
      parseArgs([], {}).kind === 'run' &&
        (parseArgs([], {}) as { config: { dockerEndpoint: string } }).config.dockerEndpoint,
    ).toBe('unix:///var/run/docker.sock');
  });

  it('takes --flag value and --flag=value', () => {
    const parsed = parseArgs(
      ['--log-level', 'debug', '--docker-endpoint=unix:///x', '--image-pull-progress-deadline=5'],
      {},
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      config: { logLevel: 'debug', dockerEndpoint: 'unix:///x', imagePullProgressDeadlineSeconds: 5 },
    });
  });

  it('answers --help and --version', () => {
    expect(parseArgs(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseArgs(['--version'], {})).toEqual({ kind: 'version' });
  });

  it.each([
    [['--nope'], /unknown flag --nope/],
    [['--log-level'], /needs a value/],
    [['--log-level', 'loud'], /--log-level must be/],
    [['--container-runtime-endpoint', 'tcp://x:1'], /must be unix/],
    [['--image-pull-progress-deadline', '-1'], /positive number/],
    [['stray'], /unexpected argument/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseArgs(argv, {})).toThrow(UsageError);
    expect(() => parseArgs(argv, {})).toThrow(msg);
  });

  it('lists every flag in --help', () => {
    const help = helpText();
    for (const f of FLAGS) expect(help).toContain(`--${f.name}`);
  });
});

function run(argv: string[]): { config: Config; warnings: string[] } {
  const parsed = parseArgs(argv, {});
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed;
}

/** cri-dockerd 0.4's flags as its units write them (the minikube unit line first). */
const CRI_DOCKERD_UNIT = [
  '--container-runtime-endpoint',
  'fd://',
  '--pod-infra-container-image=registry.k8s.io/pause:3.10',
  '--network-plugin=cni',
  '--hairpin-mode=hairpin-veth',
  '--cni-bin-dir=/opt/cni/bin',
  '--cni-cache-dir=/var/lib/cni/cache',
  '--cni-conf-dir=/etc/cni/net.d',
  '--cri-dockerd-root-directory=/var/lib/cri-dockerd',
  '--docker-endpoint=unix:///var/run/docker.sock',
  '--image-pull-progress-deadline=1m0s',
  '--ipv6-dual-stack',
  '--log-level=info',
  '--network-plugin-mtu=1450',
  '--pod-cidr=10.244.0.0/16',
  '--runtime-cgroups=/system.slice/cri-docker.service',
  '--runtime-request-timeout=2m',
  '--streaming-bind-addr=127.0.0.1',
];

describe("cri-dockerd's command line", () => {
  it('takes every flag its units carry, with one warning per flag without effect', () => {
    const { config, warnings } = run(CRI_DOCKERD_UNIT);
    expect(config).toMatchObject({
      containerRuntimeEndpoint: 'fd://',
      networkPlugin: 'cni',
      rootDirectory: '/var/lib/cri-dockerd',
      imagePullProgressDeadlineSeconds: 60,
      dockerCallTimeoutSeconds: 120,
      podCidr: '10.244.0.0/16',
      runtimeCgroups: '/system.slice/cri-docker.service',
      streamingBindAddr: '127.0.0.1:0',
      hairpinMode: 'hairpin-veth',
      networkPluginMtu: 1450,
      ipv6DualStack: true,
    });
    expect(warnings).toHaveLength(3);
    for (const flag of ['hairpin-mode', 'network-plugin-mtu', 'ipv6-dual-stack']) {
      expect(warnings.filter((w) => w.startsWith(`--${flag} has no effect: `))).toHaveLength(1);
    }
  });

  it('warns once per flag however often it is given, and not for flags left out', () => {
    expect(run(['--hairpin-mode', 'none', '--hairpin-mode=hairpin-veth']).warnings).toHaveLength(1);
    expect(run([]).warnings).toEqual([]);
  });

  it('warns that --pod-cidr needs CNI', () => {
    expect(run(['--pod-cidr', '10.1.0.0/16']).warnings).toEqual([
      expect.stringMatching(/^--pod-cidr has no effect: /),
    ]);
    expect(run(['--pod-cidr', '10.1.0.0/16', '--network-plugin', 'cni']).warnings).toEqual([]);
  });

  it.each([
    ['1m0s', 60],
    ['90s', 90],
    ['2h', 7200],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['1.5m', 90],
    ['45', 45],
    ['1500000µs', 1.5],
    ['2500000μs', 2.5],
    ['7us', 0.000007],
  ])('reads the duration %s as %d s', (text, seconds) => {
    expect(run([`--image-pull-progress-deadline=${text}`]).config.imagePullProgressDeadlineSeconds).toBe(
      seconds,
    );
    expect(run(['--runtime-request-timeout', text]).config.dockerCallTimeoutSeconds).toBe(seconds);
    expect(parseGoDuration(formatGoDuration(seconds))).toBe(seconds);
  });

  it('prints durations as Go does', () => {
    expect([60, 120, 90, 3600, 0.5, 5400].map(formatGoDuration)).toEqual([
      '1m0s',
      '2m0s',
      '1m30s',
      '1h0m0s',
      '500ms',
      '1h30m0s',
    ]);
  });

  it('keeps the default for --runtime-request-timeout 0, as cri-dockerd does', () => {
    expect(run(['--runtime-request-timeout=0s']).config.dockerCallTimeoutSeconds).toBe(120);
  });

  it('takes booleans as --flag and --flag=value only', () => {
    expect(run(['--ipv6-dual-stack=false']).config.ipv6DualStack).toBe(false);
    expect(run(['--ipv6-dual-stack']).config.ipv6DualStack).toBe(true);
    expect(() => run(['--ipv6-dual-stack', 'false'])).toThrow(/unexpected argument "false"/);
    expect(parseArgs(['--buildinfo'], {})).toEqual({ kind: 'buildinfo' });
    expect(parseArgs(['--version=true'], {})).toEqual({ kind: 'version' });
  });

  it.each([
    ['trace', 'debug'],
    ['panic', 'error'],
    ['fatal', 'error'],
    ['warning', 'warn'],
    ['Info', 'info'],
  ])('maps the logrus level %s to %s', (given, level) => {
    expect(run(['--log-level', given]).config.logLevel).toBe(level);
  });

  it.each([
    ['', 'docker'],
    ['no-op', 'docker'],
  ])('takes --network-plugin "%s" as %s', (given, plugin) => {
    expect(run([`--network-plugin=${given}`]).config.networkPlugin).toBe(plugin);
  });

  it.each([
    [['--image-pull-progress-deadline=1x'], /--image-pull-progress-deadline .*"1x"/],
    [['--runtime-request-timeout', 'soon'], /--runtime-request-timeout .*"soon"/],
    [['--runtime-request-timeout', '-1m'], /--runtime-request-timeout .*"-1m"/],
    [['--hairpin-mode=sideways'], /--hairpin-mode .*"sideways"/],
    [['--network-plugin-mtu=big'], /--network-plugin-mtu .*"big"/],
    [['--ipv6-dual-stack=maybe'], /--ipv6-dual-stack .*"maybe"/],
    [['--pod-cidr=10.0.0.0/99'], /--pod-cidr .*"10.0.0.0\/99"/],
    [['--runtime-cgroups=relative/x'], /--runtime-cgroups .*"relative\/x"/],
    [['--network-plugin=kubenet'], /--network-plugin kubenet is not supported/],
    [['--streaming-bind-addr=nowhere'], /--streaming-bind-addr .*"nowhere"/],
    [['--container-runtime-endpoint=tcp://1.2.3.4:5'], /--container-runtime-endpoint .*"tcp:\/\/1.2.3.4:5"/],
  ])('refuses %j naming the flag and the value', (argv, msg) => {
    expect(() => parseArgs(argv, {})).toThrow(UsageError);
    expect(() => parseArgs(argv, {})).toThrow(msg);
  });

  it("says in --help where cri-dockerd's defaults differ", () => {
    const help = helpText();
    expect(help).toMatch(/cri-dockerd's default: cni \(default "docker"\)/);
    expect(help).toMatch(/cri-dockerd's default: unix:\/\/\/var\/run\/cri-dockerd.sock/);
    expect(help).toMatch(/cri-dockerd's default: \/var\/lib\/cri-dockerd/);
  });
});
