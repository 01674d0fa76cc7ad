import fs from 'fs';
import net from 'net';
import { ConfigFileError, parseConfigFile } from './config-file';
import { formatGoDuration, parseGoDuration } from './go-duration';

/**
 * Command-line flags and their defaults. Flag names and syntax follow cri-dockerd 0.4, so that an
 * operator can swap the binary in its systemd unit without rewriting the flags.
 */
export interface Config {
  /** unix:///path of the CRI socket we serve, or fd:// for the socket systemd hands over. */
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
  /** Pod CIDR(s) handed to CNI plugins until the kubelet sends its own (comma-separated). */
  podCidr: string;
  /** cgroup (absolute name) docker-cri moves itself into at start; empty: stay where started. */
  runtimeCgroups: string;
  /** Accepted for cri-dockerd's units only; see FLAGS for why each changes nothing here. */
  hairpinMode: string;
  networkPluginMtu: number;
  ipv6DualStack: boolean;
  /** YAML file with any of these settings (keys are the flag names); flags given on the command line win. */
  configFile: string;
}

type ValueKey = { [K in keyof Config]: Config[K] extends string ? K : never }[keyof Config];
type NumberKey = { [K in keyof Config]: Config[K] extends number ? K : never }[keyof Config];
type BoolKey = { [K in keyof Config]: Config[K] extends boolean ? K : never }[keyof Config];

interface FlagBase {
  name: string;
  help: string;
  /** cri-dockerd's default where it differs from ours; --help and the README say so. */
  criDockerd?: string;
  /**
   * Why giving this flag changes nothing in docker-cri. It is still accepted (cri-dockerd's units
   * carry it) and a given value is still checked, with one warning naming the flag and the reason.
   */
  noEffect?: string;
}
export type FlagSpec = FlagBase &
  (
    | { kind: 'string'; key: ValueKey }
    | { kind: 'int'; key: NumberKey }
    /** Go duration (`1m0s`) or bare seconds, held in seconds. */
    | { kind: 'duration'; key: NumberKey }
    /** pflag booleans: `--flag` or `--flag=true|false`, never a separate value. */
    | { kind: 'bool'; key: BoolKey }
  );

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'container-runtime-endpoint',
    key: 'containerRuntimeEndpoint',
    kind: 'string',
    help: 'CRI socket to serve on: unix:///path, or fd:// for the socket systemd hands over',
    criDockerd: 'unix:///var/run/cri-dockerd.sock',
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
    help: 'address of the exec/attach/port-forward server (host:port, port 0 or none: a free port)',
    criDockerd: 'all addresses',
  },
  {
    name: 'root-directory',
    key: 'rootDirectory',
    kind: 'string',
    help: 'directory for docker-cri state',
  },
  {
    name: 'cri-dockerd-root-directory',
    key: 'rootDirectory',
    kind: 'string',
    help: "cri-dockerd's name for --root-directory",
    criDockerd: '/var/lib/cri-dockerd',
  },
  {
    name: 'log-level',
    key: 'logLevel',
    kind: 'string',
    help: "error, warn, info or debug (cri-dockerd's panic, fatal, trace are taken as error, error, debug)",
  },
  {
    name: 'image-pull-progress-deadline',
    key: 'imagePullProgressDeadlineSeconds',
    kind: 'duration',
    help: 'time without pull progress before a pull is cancelled (Go duration, or seconds)',
  },
  {
    name: 'docker-call-timeout',
    key: 'dockerCallTimeoutSeconds',
    kind: 'duration',
    help: 'time a single Docker API call may take (Go duration, or seconds)',
  },
  {
    name: 'runtime-request-timeout',
    key: 'dockerCallTimeoutSeconds',
    kind: 'duration',
    help: "cri-dockerd's name for --docker-call-timeout (0: the default)",
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
  {
    name: 'network-plugin',
    key: 'networkPlugin',
    kind: 'string',
    help: 'docker (the engine\'s bridge; also "" and no-op) or cni',
    criDockerd: 'cni',
  },
  {
    name: 'cni-conf-dir',
    key: 'cniConfDir',
    kind: 'string',
    help: 'directory of CNI network configurations',
  },
  {
    name: 'cni-bin-dir',
    key: 'cniBinDir',
    kind: 'string',
    help: 'directories of CNI plugin binaries, comma-separated',
  },
  { name: 'cni-cache-dir', key: 'cniCacheDir', kind: 'string', help: 'directory of the CNI result cache' },
  {
    name: 'pod-cidr',
    key: 'podCidr',
    kind: 'string',
    help: "pod CIDR for CNI plugins' ipRanges until the kubelet sends one (cni only)",
  },
  {
    name: 'runtime-cgroups',
    key: 'runtimeCgroups',
    kind: 'string',
    help: "absolute cgroup name docker-cri moves itself into at start (Docker's own processes stay put)",
  },
  {
    name: 'hairpin-mode',
    key: 'hairpinMode',
    kind: 'string',
    help: 'accepted for cri-dockerd (promiscuous-bridge, hairpin-veth, none); no effect',
    noEffect:
      "cri-dockerd uses it only for kubenet; with CNI hairpin is the plugin's own setting (the bridge plugin's hairpinMode)",
  },
  {
    name: 'network-plugin-mtu',
    key: 'networkPluginMtu',
    kind: 'int',
    help: 'accepted for cri-dockerd; no effect',
    noEffect: 'cri-dockerd passes it only to kubenet; CNI plugins take the MTU from their own configuration',
  },
  {
    name: 'ipv6-dual-stack',
    key: 'ipv6DualStack',
    kind: 'bool',
    help: 'accepted for cri-dockerd; no effect',
    noEffect: 'docker-cri always reports every address the pod network assigns, IPv4 first',
  },
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
    podCidr: '',
    runtimeCgroups: '',
    hairpinMode: '',
    networkPluginMtu: 0,
    ipv6DualStack: false,
    configFile: '',
  };
}

export class UsageError extends Error {}

export type ParsedArgs =
  | { kind: 'run'; config: Config; warnings: string[] }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'buildinfo' };

const LOG_LEVELS = new Set(['error', 'warn', 'info', 'debug']);
/** cri-dockerd's logrus levels that winston lacks, taken as the nearest level we have. */
const LOG_LEVEL_ALIASES: Record<string, string> = {
  panic: 'error',
  fatal: 'error',
  warning: 'warn',
  trace: 'debug',
};
const HAIRPIN_MODES = new Set(['promiscuous-bridge', 'hairpin-veth', 'none', '']);
const ACTIONS: Record<string, 'help' | 'version' | 'buildinfo'> = {
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
  '--buildinfo': 'buildinfo',
};

/**
 * Parses `--flag value` and `--flag=value` as cri-dockerd's pflag does (booleans only as `--flag`
 * or `--flag=bool`); unknown flags and bad values throw UsageError. Hand-written rather than
 * util.parseArgs: that one refuses `--bool=true` in strict mode, which pflag units use.
 */
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
    const eq = arg.indexOf('=');
    const action = ACTIONS[eq >= 0 ? arg.slice(0, eq) : arg];
    if (action && (eq < 0 || parseBool(arg.slice(eq + 1)) === true)) return { kind: action };
    if (action) continue; // --version=false and the like: pflag accepts them and does nothing
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.kind === 'bool') value = 'true';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value`);
      value = argv[++i];
    }
    given.push([spec, value]);
  }
  const warnings = new Map<string, string>();
  // The file first, whatever its place among the flags, so that every flag given overrides it.
  const file = given.filter(([spec]) => spec.key === 'configFile').pop();
  if (file && file[1] !== '') applyConfigFile(config, file[1], readFile, warnings);
  for (const [spec, value] of given) {
    setValue(config, spec, value);
    noteNoEffect(spec, warnings);
  }
  validate(config);
  if (config.podCidr !== '' && config.networkPlugin !== 'cni') {
    warnings.set(
      'pod-cidr',
      "only CNI plugins use a pod CIDR; with --network-plugin docker, Docker's bridge assigns the addresses",
    );
  }
  return {
    kind: 'run',
    config,
    warnings: [...warnings].map(([name, why]) => `--${name} has no effect: ${why}`),
  };
}

function noteNoEffect(spec: FlagSpec, warnings: Map<string, string>): void {
  if (spec.noEffect) warnings.set(spec.name, spec.noEffect);
}

function applyConfigFile(
  config: Config,
  file: string,
  readFile: (file: string) => string,
  warnings: Map<string, string>,
): void {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new UsageError(`--config: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    for (const { spec, value } of parseConfigFile(text, file, FLAGS)) {
      setValue(config, spec, value);
      noteNoEffect(spec, warnings);
    }
  } catch (err) {
    if (err instanceof ConfigFileError) throw new UsageError(`--config ${err.message}`);
    if (err instanceof UsageError) throw new UsageError(`--config ${file}: ${err.message}`);
    throw err;
  }
}

function parseBool(value: string): boolean | undefined {
  // strconv.ParseBool's spellings, which pflag takes
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return undefined;
}

function setValue(config: Config, spec: FlagSpec, value: string): void {
  switch (spec.kind) {
    case 'duration': {
      const seconds = parseGoDuration(value);
      const zeroIsDefault = spec.name === 'runtime-request-timeout';
      if (seconds === undefined || seconds < 0 || (seconds === 0 && !zeroIsDefault)) {
        throw new UsageError(
          `flag --${spec.name} needs a positive number of seconds or a duration such as 1m0s, got "${value}"`,
        );
      }
      if (seconds > 0) config[spec.key] = seconds;
      return;
    }
    case 'int': {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n > 2 ** 31 - 1) {
        throw new UsageError(`flag --${spec.name} needs a whole number, got "${value}"`);
      }
      config[spec.key] = n;
      return;
    }
    case 'bool': {
      const b = parseBool(value);
      if (b === undefined) throw new UsageError(`flag --${spec.name} needs true or false, got "${value}"`);
      config[spec.key] = b;
      return;
    }
    case 'string':
      config[spec.key] = value;
  }
}

export function validate(config: Config): void {
  const endpoint = config.containerRuntimeEndpoint;
  if (!endpoint.startsWith('unix://') && !endpoint.startsWith('fd://')) {
    throw new UsageError(`--container-runtime-endpoint must be unix:///path or fd://, got "${endpoint}"`);
  }
  const level = LOG_LEVEL_ALIASES[config.logLevel.toLowerCase()] ?? config.logLevel.toLowerCase();
  if (!LOG_LEVELS.has(level)) {
    throw new UsageError(
      `--log-level must be one of ${[...LOG_LEVELS].join(', ')}, got "${config.logLevel}"`,
    );
  }
  config.logLevel = level;
  config.streamingBindAddr = streamingAddress(config.streamingBindAddr);
  if (config.networkPlugin === '' || config.networkPlugin === 'no-op') config.networkPlugin = 'docker';
  if (config.networkPlugin === 'kubenet') {
    throw new UsageError(
      '--network-plugin kubenet is not supported: use a CNI bridge configuration with --network-plugin cni',
    );
  }
  if (config.networkPlugin !== 'docker' && config.networkPlugin !== 'cni') {
    throw new UsageError(`--network-plugin must be docker or cni, got "${config.networkPlugin}"`);
  }
  if (!HAIRPIN_MODES.has(config.hairpinMode)) {
    throw new UsageError(
      `--hairpin-mode must be promiscuous-bridge, hairpin-veth or none, got "${config.hairpinMode}"`,
    );
  }
  for (const cidr of config.podCidr.split(',').filter((c) => c.trim() !== '')) {
    if (!isCidr(cidr.trim()))
      throw new UsageError(`--pod-cidr must be CIDRs such as 10.244.0.0/16, got "${cidr}"`);
  }
  if (config.runtimeCgroups !== '' && !/^\/[^\0]*$/.test(config.runtimeCgroups)) {
    throw new UsageError(`--runtime-cgroups must be an absolute cgroup name, got "${config.runtimeCgroups}"`);
  }
  if (config.runtimeCgroups.split('/').includes('..')) {
    throw new UsageError(`--runtime-cgroups must not contain "..", got "${config.runtimeCgroups}"`);
  }
}

/** host:port as given; a bare address (cri-dockerd's form) gets port 0. Throws on anything else. */
function streamingAddress(addr: string): string {
  if (/^[^:]*:\d+$/.test(addr) || /^\[[^\]]+\]:\d+$/.test(addr)) return addr;
  if (net.isIPv4(addr)) return `${addr}:0`;
  if (net.isIPv6(addr)) return `[${addr}]:0`;
  throw new UsageError(`--streaming-bind-addr must be host:port or an address, got "${addr}"`);
}

function isCidr(text: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return false;
  const family = net.isIP(m[1]);
  return (family === 4 && Number(m[2]) <= 32) || (family === 6 && Number(m[2]) <= 128);
}

/** The socket path of a unix:// endpoint; undefined for fd:// (the socket systemd handed over). */
export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}

export function isHandedSocketEndpoint(endpoint: string): boolean {
  return endpoint.startsWith('fd://');
}

function defaultText(spec: FlagSpec, defaults: Config): string {
  const def = defaults[spec.key];
  if (spec.kind === 'duration') return JSON.stringify(formatGoDuration(def as number));
  return def === '' ? '""' : JSON.stringify(def);
}

export function helpText(): string {
  const defaults = defaultConfig({});
  const lines = [
    'Usage: docker-cri [flags]',
    '',
    "A Kubernetes CRI v1 runtime that runs pods on the Docker Engine. Takes cri-dockerd 0.4's flags",
    'as its units write them (--flag value, --flag=value, Go durations such as 1m0s).',
    '',
    'Flags:',
  ];
  for (const f of FLAGS) {
    const value =
      f.kind === 'bool' ? '' : f.kind === 'duration' ? ' DURATION' : f.kind === 'int' ? ' N' : ' VALUE';
    lines.push(`  --${f.name}${value}`);
    const differs = f.criDockerd ? `; cri-dockerd's default: ${f.criDockerd}` : '';
    lines.push(`        ${f.help}${differs} (default ${defaultText(f, defaults)})`);
  }
  lines.push(
    '  --help',
    '        print this help and exit',
    '  --version',
    '        print the version and exit',
    '  --buildinfo',
    '        print the version, commit, Node.js version and node flags and exit',
  );
  return lines.join('\n');
}
