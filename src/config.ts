import fs from 'fs';
import { ConfigFileError, parseConfigFile } from './config-file';

/**
 * Command-line flags and their defaults. Flag names follow cri-dockerd so that an operator can
 * swap the binary in a systemd unit without rewriting its flags.
 */
export interface Config {
  /** unix:///path of the CRI socket we serve. */
  containerRuntimeEndpoint: string;
  /** Docker Engine endpoint (unix:///path, tcp://host:port, or http://host:port). */
  dockerEndpoint: string;
  podInfraContainerImage: string;
  /** host:port for the exec/attach/port-forward HTTP server; port 0 picks a free one. */
  streamingBindAddr: string;
  rootDirectory: string;
  logLevel: string;
  /** Seconds without pull progress after which a pull is cancelled. */
  imagePullProgressDeadlineSeconds: number;
  /** Seconds a single Docker API call may take before it counts as failed. */
  dockerCallTimeoutSeconds: number;
  /** Where a built-in pause image is built from when the configured one cannot be pulled. */
  pauseSourceDir: string;
  /** Bind address for Prometheus metrics; empty means off. */
  metricsBindAddr: string;
  networkPlugin: string;
  cniConfDir: string;
  cniBinDir: string;
  cniCacheDir: string;
  /** YAML file with any of these settings (keys are the flag names); flags given on the command line win. */
  configFile: string;
}

export interface FlagSpec {
  name: string;
  key: keyof Config;
  kind: 'string' | 'number';
  help: string;
}

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'container-runtime-endpoint',
    key: 'containerRuntimeEndpoint',
    kind: 'string',
    help: 'CRI socket to serve on',
  },
  {
    name: 'docker-endpoint',
    key: 'dockerEndpoint',
    kind: 'string',
    help: 'Docker Engine endpoint (DOCKER_HOST is honoured when the flag is absent)',
  },
  {
    name: 'pod-infra-container-image',
    key: 'podInfraContainerImage',
    kind: 'string',
    help: 'image of the pause container that holds each pod',
  },
  {
    name: 'streaming-bind-addr',
    key: 'streamingBindAddr',
    kind: 'string',
    help: 'address of the exec/attach/port-forward server (port 0: a free port)',
  },
  { name: 'root-directory', key: 'rootDirectory', kind: 'string', help: 'directory for docker-cri state' },
  { name: 'log-level', key: 'logLevel', kind: 'string', help: 'error, warn, info or debug' },
  {
    name: 'image-pull-progress-deadline',
    key: 'imagePullProgressDeadlineSeconds',
    kind: 'number',
    help: 'seconds without pull progress before a pull is cancelled',
  },
  {
    name: 'docker-call-timeout',
    key: 'dockerCallTimeoutSeconds',
    kind: 'number',
    help: 'seconds a single Docker API call may take',
  },
  {
    name: 'pause-source-dir',
    key: 'pauseSourceDir',
    kind: 'string',
    help: 'source of the pause image, built offline when the image cannot be pulled',
  },
  {
    name: 'metrics-bind-addr',
    key: 'metricsBindAddr',
    kind: 'string',
    help: 'address of the Prometheus /metrics endpoint (empty: off)',
  },
  { name: 'network-plugin', key: 'networkPlugin', kind: 'string', help: 'docker (default bridge) or cni' },
  {
    name: 'cni-conf-dir',
    key: 'cniConfDir',
    kind: 'string',
    help: 'directory of CNI network configurations',
  },
  { name: 'cni-bin-dir', key: 'cniBinDir', kind: 'string', help: 'directory of CNI plugin binaries' },
  { name: 'cni-cache-dir', key: 'cniCacheDir', kind: 'string', help: 'directory of the CNI result cache' },
  {
    name: 'config',
    key: 'configFile',
    kind: 'string',
    help: 'YAML file of settings named like these flags; flags on the command line win',
  },
];

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    containerRuntimeEndpoint: 'unix:///run/docker-cri.sock',
    dockerEndpoint:
      env.DOCKER_HOST && env.DOCKER_HOST !== '' ? env.DOCKER_HOST : 'unix:///var/run/docker.sock',
    podInfraContainerImage: 'registry.k8s.io/pause:3.10',
    streamingBindAddr: '127.0.0.1:0',
    rootDirectory: '/var/lib/docker-cri',
    logLevel: 'info',
    imagePullProgressDeadlineSeconds: 60,
    dockerCallTimeoutSeconds: 120,
    pauseSourceDir: '',
    metricsBindAddr: '',
    networkPlugin: 'docker',
    cniConfDir: '/etc/cni/net.d',
    cniBinDir: '/opt/cni/bin',
    cniCacheDir: '/var/lib/cni/cache',
    configFile: '',
  };
}

export class UsageError extends Error {}

export type ParsedArgs = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'version' };

const LOG_LEVELS = new Set(['error', 'warn', 'info', 'debug']);

/** Parses `--flag value` and `--flag=value`; unknown flags and bad values throw UsageError. */
export function parseArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  readFile: (file: string) => string = (file) => fs.readFileSync(file, 'utf8'),
): ParsedArgs {
  const config = defaultConfig(env);
  const given: Array<[FlagSpec, string]> = [];
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value`);
      value = argv[++i];
    }
    given.push([spec, value]);
  }
  // The file first, whatever its place among the flags, so that every flag given overrides it.
  const file = given.filter(([spec]) => spec.key === 'configFile').pop();
  if (file && file[1] !== '') applyConfigFile(config, file[1], readFile);
  for (const [spec, value] of given) setValue(config, spec, value);
  validate(config);
  return { kind: 'run', config };
}

function applyConfigFile(config: Config, file: string, readFile: (file: string) => string): void {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new UsageError(`--config: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    for (const { spec, value } of parseConfigFile(text, file, FLAGS)) setValue(config, spec, value);
  } catch (err) {
    if (err instanceof ConfigFileError) throw new UsageError(`--config ${err.message}`);
    if (err instanceof UsageError) throw new UsageError(`--config ${file}: ${err.message}`);
    throw err;
  }
}

function setValue(config: Config, spec: FlagSpec, value: string): void {
  if (spec.kind === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`flag --${spec.name} needs a positive number, got "${value}"`);
    (config[spec.key] as number) = n;
  } else {
    (config[spec.key] as string) = value;
  }
}

export function validate(config: Config): void {
  if (!config.containerRuntimeEndpoint.startsWith('unix://')) {
    throw new UsageError(
      `--container-runtime-endpoint must be unix:///path, got "${config.containerRuntimeEndpoint}"`,
    );
  }
  if (!LOG_LEVELS.has(config.logLevel)) {
    throw new UsageError(
      `--log-level must be one of ${[...LOG_LEVELS].join(', ')}, got "${config.logLevel}"`,
    );
  }
  if (!/^[^:]*:\d+$/.test(config.streamingBindAddr) && !/^\[[^\]]+\]:\d+$/.test(config.streamingBindAddr)) {
    throw new UsageError(`--streaming-bind-addr must be host:port, got "${config.streamingBindAddr}"`);
  }
  if (config.networkPlugin !== 'docker' && config.networkPlugin !== 'cni') {
    throw new UsageError(`--network-plugin must be docker or cni, got "${config.networkPlugin}"`);
  }
}

export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}

export function helpText(): string {
  const defaults = defaultConfig({});
  const lines = [
    'Usage: docker-cri [flags]',
    '',
    'A Kubernetes CRI v1 runtime that runs pods on the Docker Engine.',
    '',
    'Flags:',
  ];
  for (const f of FLAGS) {
    const def = defaults[f.key];
    lines.push(`  --${f.name} ${f.kind === 'number' ? 'N' : 'VALUE'}`);
    lines.push(`        ${f.help} (default ${def === '' ? '""' : JSON.stringify(def)})`);
  }
  lines.push(
    '  --help',
    '        print this help and exit',
    '  --version',
    '        print the version and exit',
  );
  return lines.join('\n');
}
