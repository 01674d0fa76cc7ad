/**
 * PodSandboxConfig → the Docker create options of the pause container. Pure: every input that
 * needs I/O (engine cgroup driver, clamped OOM score, seccomp profile text) is resolved by the
 * caller. What an answer needs later and Docker does not keep is written into io.docker-cri.* labels.
 */
import type { ContainerCreateOptions, HostConfig } from 'dockerode';
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig';
import type { NamespaceOption__Output } from '../generated/runtime/v1/NamespaceOption';
import type { NamespaceMode__Output } from '../generated/runtime/v1/NamespaceMode';
import type { PortMapping__Output } from '../generated/runtime/v1/PortMapping';
import type { LinuxSandboxSecurityContext__Output } from '../generated/runtime/v1/LinuxSandboxSecurityContext';
import type { SecurityProfile__Output } from '../generated/runtime/v1/SecurityProfile';
import { dnsConfigProblem, dockerDns } from '../network/dns';
import {
  encodeLabels,
  LABEL_CONTAINER_NAME,
  LABEL_TYPE,
  OWN_PREFIX,
  SANDBOX_CONTAINER_NAME,
  TYPE_SANDBOX,
} from './labels';
import { sandboxName } from './names';

/** Our own labels on a pause container (all stripped from CRI answers by decodeLabels). */
export const LABEL_SANDBOX_METADATA = `${OWN_PREFIX}metadata`;
export const LABEL_CREATED_AT = `${OWN_PREFIX}created-at`;
export const LABEL_RUNTIME_HANDLER = `${OWN_PREFIX}runtime-handler`;
export const LABEL_LOG_DIRECTORY = `${OWN_PREFIX}log-directory`;
export const LABEL_NAMESPACE_OPTIONS = `${OWN_PREFIX}namespace-options`;
export const LABEL_PORT_MAPPINGS = `${OWN_PREFIX}port-mappings`;
export const LABEL_DNS_CONFIG = `${OWN_PREFIX}dns-config`;
export const LABEL_POD_RESOURCES = `${OWN_PREFIX}pod-resources`;
export const LABEL_NETWORK_PLUGIN = `${OWN_PREFIX}network-plugin`;

export class SandboxConfigError extends Error {}

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface SandboxCreateInput {
  config: PodSandboxConfig__Output;
  /** '' for the engine's default runtime. */
  runtimeHandler: string;
  pauseImage: string;
  cgroupDriver: CgroupDriver;
  /** NetworkMode for a pod with its own network namespace (from the network plugin). */
  podNetworkMode: string;
  /** Which network plugin set the pod up (recorded so teardown uses the same one). */
  networkPlugin: string;
  /** Already clamped to what the host allows. */
  oomScoreAdj: number;
  /** The text of a Localhost seccomp profile, read by the caller. */
  seccompProfileJson?: string;
  createdAtNanos: string;
}

export type NsMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

/** Namespace options as we store and report them. */
export interface SandboxNamespaces {
  network: NsMode;
  pid: NsMode;
  ipc: NsMode;
  target_id: string;
}

export function namespacesOf(opts: NamespaceOption__Output | null | undefined): SandboxNamespaces {
  const mode = (m: NamespaceMode__Output | undefined, dflt: NsMode): NsMode => (m ? (m as NsMode) : dflt);
  return {
    network: mode(opts?.network, 'POD'),
    pid: mode(opts?.pid, 'POD'),
    ipc: mode(opts?.ipc, 'POD'),
    target_id: opts?.target_id ?? '',
  };
}

/** Every problem the engine would otherwise report less clearly (or not at all), naming the field. */
export function validateSandboxConfig(
  config: PodSandboxConfig__Output | null | undefined,
): PodSandboxConfig__Output {
  if (!config) throw new SandboxConfigError('config is required');
  const md = config.metadata;
  if (!md) throw new SandboxConfigError('config.metadata is required (name, namespace, uid, attempt)');
  if (!md.name) throw new SandboxConfigError('config.metadata.name is empty');
  if (!md.namespace) throw new SandboxConfigError('config.metadata.namespace is empty');
  if (!md.uid) throw new SandboxConfigError('config.metadata.uid is empty');
  for (const [field, v] of [
    ['name', md.name],
    ['namespace', md.namespace],
    ['uid', md.uid],
  ] as const) {
    // The Docker name carries these joined by "_", and Docker allows only [a-zA-Z0-9_.-] in names.
    if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(v)) {
      throw new SandboxConfigError(
        `config.metadata.${field} "${v}" must be letters, digits, "." or "-" (it becomes part of the Docker name)`,
      );
    }
  }
  if (config.hostname && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(config.hostname)) {
    throw new SandboxConfigError(`config.hostname "${config.hostname}" is not a valid hostname`);
  }
  const dnsProblem = dnsConfigProblem(config.dns_config);
  if (dnsProblem) throw new SandboxConfigError(dnsProblem);
  for (const [i, p] of config.port_mappings.entries()) {
    if (!(p.container_port >= 1 && p.container_port <= 65535)) {
      throw new SandboxConfigError(
        `config.port_mappings[${i}].container_port ${p.container_port} is not 1-65535`,
      );
    }
    if (!(p.host_port >= 0 && p.host_port <= 65535)) {
      throw new SandboxConfigError(`config.port_mappings[${i}].host_port ${p.host_port} is not 0-65535`);
    }
  }
  const sc = config.linux?.security_context;
  const ns = namespacesOf(sc?.namespace_options);
  for (const kind of ['network', 'pid', 'ipc'] as const) {
    const allowed: NsMode[] = kind === 'pid' ? ['POD', 'CONTAINER', 'NODE'] : ['POD', 'NODE'];
    if (!allowed.includes(ns[kind])) {
      throw new SandboxConfigError(
        `config.linux.security_context.namespace_options.${kind} ${ns[kind]} is not supported for a pod sandbox ` +
          `(use ${allowed.join(' or ')})`,
      );
    }
  }
  const userns = sc?.namespace_options?.userns_options;
  if (userns && userns.mode !== 'NODE') {
    throw new SandboxConfigError(
      `config.linux.security_context.namespace_options.userns_options.mode ${userns.mode} is not supported: ` +
        'Docker has no per-pod user namespaces (only NODE)',
    );
  }
  for (const key of Object.keys(config.linux?.sysctls ?? {})) {
    if (!/^[a-z0-9_][a-z0-9_./-]*$/i.test(key)) {
      throw new SandboxConfigError(`config.linux.sysctls key "${key}" is not a sysctl name`);
    }
  }
  for (const [i, g] of (sc?.supplemental_groups ?? []).entries()) {
    if (!/^\d+$/.test(String(g))) {
      throw new SandboxConfigError(
        `config.linux.security_context.supplemental_groups[${i}] "${g}" is not a group id`,
      );
    }
  }
  return config;
}

/**
 * kubelet sends a cgroupfs path; with the systemd driver Docker wants only the slice's own name
 * (`/kubepods.slice/kubepods-besteffort.slice/x.slice` → `x.slice`).
 */
export function cgroupParentFor(parent: string, driver: CgroupDriver): string {
  if (!parent) return '';
  if (driver === 'cgroupfs') return parent;
  const last = parent.replace(/\/+$/, '').split('/').pop() ?? '';
  if (!last.endsWith('.slice')) {
    throw new SandboxConfigError(
      `config.linux.cgroup_parent "${parent}" is not a systemd slice ("name.slice"), which the engine's ` +
        'systemd cgroup driver requires',
    );
  }
  return last;
}

/** Port mappings with a host port, in Docker's ExposedPorts/PortBindings form. */
export function portBindings(ports: readonly PortMapping__Output[]): {
  ExposedPorts: Record<string, Record<string, never>>;
  PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
} {
  const ExposedPorts: Record<string, Record<string, never>> = {};
  const PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    const key = `${p.container_port}/${(p.protocol || 'TCP').toLowerCase()}`;
    ExposedPorts[key] = {};
    // Without a host port there is nothing to publish: the pod IP reaches the port directly.
    if (!p.host_port) continue;
    (PortBindings[key] ??= []).push({ HostIp: p.host_ip || '', HostPort: String(p.host_port) });
  }
  return { ExposedPorts, PortBindings };
}

/** Docker's `seccomp=…` / `apparmor=…` value for a CRI security profile; undefined = engine default. */
function profileOpt(
  kind: 'seccomp' | 'apparmor',
  profile: SecurityProfile__Output | null | undefined,
  legacyPath: string,
  seccompJson: string | undefined,
): string | undefined {
  let type = profile?.profile_type;
  let ref = profile?.localhost_ref ?? '';
  if (!profile && legacyPath) {
    if (legacyPath === 'unconfined') type = 'Unconfined';
    else if (legacyPath.startsWith('localhost/')) {
      type = 'Localhost';
      ref = legacyPath.slice('localhost/'.length);
    } else type = 'RuntimeDefault';
  }
  if (!type || type === 'RuntimeDefault') return undefined;
  if (type === 'Unconfined') return `${kind}=unconfined`;
  if (kind === 'seccomp') {
    if (seccompJson === undefined)
      throw new SandboxConfigError(`seccomp Localhost profile "${ref}" was not read`);
    return `seccomp=${seccompJson}`;
  }
  return `apparmor=${ref}`;
}

/** Where a Localhost seccomp profile lives (the caller reads it), or undefined when there is none. */
export function seccompProfilePath(
  sc: LinuxSandboxSecurityContext__Output | null | undefined,
): string | undefined {
  if (!sc) return undefined;
  if (sc.seccomp) return sc.seccomp.profile_type === 'Localhost' ? sc.seccomp.localhost_ref : undefined;
  return sc.seccomp_profile_path.startsWith('localhost/')
    ? sc.seccomp_profile_path.slice('localhost/'.length)
    : undefined;
}

function securityOpts(
  sc: LinuxSandboxSecurityContext__Output | null | undefined,
  seccompJson?: string,
): string[] {
  if (!sc) return [];
  const out: string[] = [];
  const seccomp = profileOpt('seccomp', sc.seccomp, sc.seccomp_profile_path, seccompJson);
  if (seccomp) out.push(seccomp);
  const apparmor = profileOpt('apparmor', sc.apparmor, '', undefined);
  if (apparmor) out.push(apparmor);
  const se = sc.selinux_options;
  if (se) {
    if (se.user) out.push(`label=user:${se.user}`);
    if (se.role) out.push(`label=role:${se.role}`);
    if (se.type) out.push(`label=type:${se.type}`);
    if (se.level) out.push(`label=level:${se.level}`);
  }
  return out;
}

/** "uid", "uid:gid" or undefined for the image's own user. */
function userOf(sc: LinuxSandboxSecurityContext__Output | null | undefined): string | undefined {
  const uid = sc?.run_as_user?.value;
  const gid = sc?.run_as_group?.value;
  if (uid === undefined || uid === null || uid === '') {
    if (gid) throw new SandboxConfigError('config.linux.security_context.run_as_group needs run_as_user');
    return undefined;
  }
  return gid ? `${uid}:${gid}` : String(uid);
}

export function sandboxDockerName(config: PodSandboxConfig__Output): string {
  const md = config.metadata!;
  return sandboxName({ name: md.name, namespace: md.namespace, uid: md.uid, attempt: md.attempt });
}

export function sandboxCreateOptions(input: SandboxCreateInput): ContainerCreateOptions {
  const { config } = input;
  const md = config.metadata!;
  const linux = config.linux;
  const sc = linux?.security_context;
  const ns = namespacesOf(sc?.namespace_options);
  const hostNetwork = ns.network === 'NODE';
  const internal: Record<string, string> = {
    [LABEL_TYPE]: TYPE_SANDBOX,
    [LABEL_CONTAINER_NAME]: SANDBOX_CONTAINER_NAME,
    [LABEL_SANDBOX_METADATA]: JSON.stringify({
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      attempt: md.attempt,
    }),
    [LABEL_CREATED_AT]: input.createdAtNanos,
    [LABEL_RUNTIME_HANDLER]: input.runtimeHandler,
    [LABEL_NAMESPACE_OPTIONS]: JSON.stringify(ns),
    [LABEL_NETWORK_PLUGIN]: hostNetwork ? 'host' : input.networkPlugin,
  };
  if (config.log_directory) internal[LABEL_LOG_DIRECTORY] = config.log_directory;
  if (config.port_mappings.length) internal[LABEL_PORT_MAPPINGS] = JSON.stringify(config.port_mappings);
  if (config.dns_config) internal[LABEL_DNS_CONFIG] = JSON.stringify(config.dns_config);
  if (linux?.overhead || linux?.resources) {
    internal[LABEL_POD_RESOURCES] = JSON.stringify({ overhead: linux.overhead, resources: linux.resources });
  }

  const hostConfig: HostConfig = {
    NetworkMode: hostNetwork ? 'host' : input.podNetworkMode,
    // Containers join with container:<id>, which Docker allows only for a shareable IPC namespace.
    IpcMode: ns.ipc === 'NODE' ? 'host' : 'shareable',
    PidMode: ns.pid === 'NODE' ? 'host' : '',
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    OomScoreAdj: input.oomScoreAdj,
    ...dockerDns(config.dns_config),
  };
  const createOpts: ContainerCreateOptions = {
    name: sandboxDockerName(config),
    Image: input.pauseImage,
    Labels: encodeLabels(config.labels, config.annotations, internal),
    Healthcheck: { Test: ['NONE'] },
    HostConfig: hostConfig,
  };
  if (config.hostname) createOpts.Hostname = config.hostname;
  if (!hostNetwork && config.port_mappings.length) {
    const { ExposedPorts, PortBindings } = portBindings(config.port_mappings);
    createOpts.ExposedPorts = ExposedPorts;
    hostConfig.PortBindings = PortBindings;
  }
  if (linux) {
    if (Object.keys(linux.sysctls ?? {}).length) hostConfig.Sysctls = { ...linux.sysctls };
    const parent = cgroupParentFor(linux.cgroup_parent, input.cgroupDriver);
    if (parent) hostConfig.CgroupParent = parent;
  }
  if (sc) {
    if (sc.privileged) hostConfig.Privileged = true;
    if (sc.readonly_rootfs) hostConfig.ReadonlyRootfs = true;
    const user = userOf(sc);
    if (user) createOpts.User = user;
    if (sc.supplemental_groups.length) hostConfig.GroupAdd = sc.supplemental_groups.map(String);
    const opts = securityOpts(sc, input.seccompProfileJson);
    if (opts.length) hostConfig.SecurityOpt = opts;
  }
  if (input.runtimeHandler) hostConfig.Runtime = input.runtimeHandler;
  return createOpts;
}
