import { FLAGS, helpText, parseArgs, UsageError } from '../../src/config';

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
