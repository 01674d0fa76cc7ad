/**
 * CRI mounts and devices → Docker binds and devices, and Docker's inspect mounts back. Pure: no I/O.
 *
 * Binds (`host:container:options`) as dockershim did, except where a read-only mount needs
 * BindOptions, which only HostConfig.Mounts carries: on engines that make read-only binds
 * recursive by default (API ≥ 1.44) a CRI read-only mount must say ReadOnlyNonRecursive to stay
 * what Kubernetes means by read-only, and recursive_read_only says ReadOnlyForceRecursive. Such
 * mounts ask for CreateMountpoint, so a missing host path is created as a directory just as Binds
 * do, which is what kubelet volume plugins expect.
 */
import path from 'path';
import type { ContainerInspectInfo, MountSettings, MountPropagation } from 'dockerode';
import type { Mount, Mount__Output } from '../generated/runtime/v1/Mount';
import type { Device__Output } from '../generated/runtime/v1/Device';
import type { MountPropagation__Output } from '../generated/runtime/v1/MountPropagation';
import { ValidationError } from '../errors';
import { withMountOptions } from './mount-options';

export interface DockerDevice {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** What the engine can do with read-only binds (see docker/capabilities.ts). */
export interface BindCapabilities {
  bindReadOnlyOptions: boolean;
  recursiveReadOnly: boolean;
  /**
   * The engine labels containers for SELinux (its info's SecurityOptions has name=selinux), so a
   * volume must be relabelled (`:z`/`:Z`, Binds only) for the container to use it. Without it the
   * relabel is a no-op and a mount need not be a Bind for its sake.
   */
  selinux?: boolean;
}

/** Docker 20.10's (API 1.41) answers: read-only binds are non-recursive and nothing else exists. */
export const LEGACY_BIND_CAPABILITIES: BindCapabilities = {
  bindReadOnlyOptions: false,
  recursiveReadOnly: false,
};

/** A bind in HostConfig.Mounts, with the BindOptions of API 1.44 that dockerode's types lack. */
export type DockerBindMount = MountSettings & {
  Type: 'bind';
  BindOptions: {
    Propagation: MountPropagation;
    CreateMountpoint: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  };
};

export interface DockerBinds {
  Binds: string[];
  Mounts: DockerBindMount[];
}

const PROPAGATION_OPTION: Record<MountPropagation__Output, string | undefined> = {
  PROPAGATION_PRIVATE: undefined,
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

function checkPath(p: string, field: string): string {
  if (!p) throw new ValidationError(`${field} is empty`);
  if (!path.isAbsolute(p)) throw new ValidationError(`${field} "${p}" must be an absolute path`);
  // Docker's bind syntax splits on ':'; such a path cannot be expressed without ambiguity.
  if (p.includes(':')) throw new ValidationError(`${field} "${p}" must not contain ':'`);
  return p;
}

function propagationMode(m: Mount__Output, field: string): MountPropagation__Output {
  const mode = m.propagation || 'PROPAGATION_PRIVATE';
  if (!Object.hasOwn(PROPAGATION_OPTION, mode)) {
    throw new ValidationError(`${field}.propagation "${String(m.propagation)}" is unknown`);
  }
  return mode;
}

/** The checks every mount passes, whichever form it takes. */
function checkMount(m: Mount__Output, field: string): { host: string; target: string } {
  const host = checkPath(m.host_path, `${field}.host_path`);
  const target = checkPath(m.container_path, `${field}.container_path`);
  if (m.image?.image)
    throw new ValidationError(`${field}.image: image volumes are not supported by docker-cri`);
  if (m.uidMappings?.length || m.gidMappings?.length) {
    throw new ValidationError(`${field}: id-mapped mounts are not supported by Docker`);
  }
  return { host, target };
}

/**
 * The CRI's rules for recursive read-only (as the kubelet and containerd apply them): it only
 * makes sense on a read-only mount with private propagation, and an engine that cannot do it must
 * say so rather than give a mount that is less read-only than asked.
 */
function checkRecursiveReadOnly(m: Mount__Output, field: string, caps: BindCapabilities): void {
  if (!m.readonly) {
    throw new ValidationError(
      `${field}.recursive_read_only needs readonly: true on mount "${m.container_path}"`,
    );
  }
  if (propagationMode(m, field) !== 'PROPAGATION_PRIVATE') {
    throw new ValidationError(
      `${field}.recursive_read_only needs propagation PROPAGATION_PRIVATE on mount "${m.container_path}", got ${String(m.propagation)}`,
    );
  }
  if (!caps.recursiveReadOnly) {
    throw new ValidationError(
      `${field}.recursive_read_only: this Docker engine cannot make mount "${m.container_path}" recursively read-only (needs Docker API 1.44 and Linux 5.12)`,
    );
  }
}

/** mount_options must not give a recursive read-only mount a propagation other than private. */
function checkRecursivePropagation(options: string[], m: Mount__Output, field: string): void {
  const propagation = options.find((o) => o !== 'ro' && o !== 'rw' && o !== 'z' && o !== 'Z');
  if (propagation && propagation !== 'private' && propagation !== 'rprivate') {
    throw new ValidationError(
      `${field}.mount_options: "${propagation}" conflicts with recursive_read_only on mount "${m.container_path}" (it needs private propagation)`,
    );
  }
}

/** A mount's bind options: ro|rw first, then Z and a propagation mode, then its mount_options. */
function bindOptions(m: Mount__Output, field: string): string[] {
  const options = [m.readonly ? 'ro' : 'rw'];
  if (m.selinux_relabel) options.push('Z');
  const propagation = PROPAGATION_OPTION[propagationMode(m, field)];
  if (propagation) options.push(propagation);
  return withMountOptions(options, m.mount_options, field);
}

/**
 * One read-only CRI mount → a bind in HostConfig.Mounts that says how read-only it is. `options`
 * are its bind options (bindOptions), so a propagation given in mount_options is kept here too.
 */
function toReadOnlyMount(m: Mount__Output, host: string, target: string, options: string[]): DockerBindMount {
  const propagation = options.find((o) => o !== 'ro' && o !== 'rw' && o !== 'z' && o !== 'Z');
  return {
    Type: 'bind',
    Source: host,
    Target: target,
    ReadOnly: true,
    BindOptions: {
      Propagation: (propagation ?? 'rprivate') as MountPropagation,
      CreateMountpoint: true,
      ...(m.recursive_read_only ? { ReadOnlyForceRecursive: true } : { ReadOnlyNonRecursive: true }),
    },
  };
}

/**
 * CRI mounts → Binds, plus Mounts for the read-only ones an engine with BindOptions must be told
 * about, so that read-only keeps Kubernetes' meaning (non-recursive: a tmpfs or volume mounted below
 * stays writable) on every engine. SELinux relabelling exists only in the Binds form, which such an
 * engine makes recursively read-only. Where the engine does not label containers the relabel is a
 * no-op and is dropped: the mount is a non-recursive Mount. Where it does (an SELinux node), the
 * relabel wins and the mount stays a Bind, recursively read-only on Docker ≥ 25: a volume the
 * container may not read is worse than submounts that are read-only too. A mount that asked for
 * recursive read-only becomes a Mount all the same, since being less read-only than asked is worse
 * than not being relabelled.
 */
export function toDockerBinds(mounts: Mount__Output[] | undefined, caps: BindCapabilities): DockerBinds {
  const out: DockerBinds = { Binds: [], Mounts: [] };
  for (const [i, m] of (mounts ?? []).entries()) {
    const field = `config.mounts[${i}]`;
    const { host, target } = checkMount(m, field);
    if (m.recursive_read_only) checkRecursiveReadOnly(m, field, caps);
    const options = bindOptions(m, field);
    if (m.recursive_read_only) checkRecursivePropagation(options, m, field);
    // mount_options may make a mount read-only ("ro") or relabel it ("z"), as the fields do.
    const readOnly = options[0] === 'ro';
    const relabel = options.includes('z') || options.includes('Z');
    const keepRelabel = relabel && caps.selinux === true;
    const needsOptions = readOnly && caps.bindReadOnlyOptions && (m.recursive_read_only || !keepRelabel);
    if (needsOptions) out.Mounts.push(toReadOnlyMount(m, host, target, options));
    else out.Binds.push(`${host}:${target}:${options.join(',')}`);
  }
  return out;
}

/** CRI mounts as Binds on an engine without BindOptions (Docker 20.10, API 1.41). */
export function toBinds(mounts: Mount__Output[] | undefined): string[] {
  return toDockerBinds(mounts, LEGACY_BIND_CAPABILITIES).Binds;
}

export function toDevices(devices: Device__Output[] | undefined): DockerDevice[] {
  return (devices ?? []).map((d, i) => {
    const field = `config.devices[${i}]`;
    const host = checkPath(d.host_path, `${field}.host_path`);
    const inContainer = d.container_path ? checkPath(d.container_path, `${field}.container_path`) : host;
    const permissions = d.permissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(permissions)) {
      throw new ValidationError(
        `${field}.permissions "${d.permissions}" must be a combination of r, w and m`,
      );
    }
    return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: permissions };
  });
}

function propagationOf(p: string | undefined): MountPropagation__Output {
  if (p === 'rslave' || p === 'slave') return 'PROPAGATION_HOST_TO_CONTAINER';
  if (p === 'rshared' || p === 'shared') return 'PROPAGATION_BIDIRECTIONAL';
  return 'PROPAGATION_PRIVATE';
}

/** Container paths of the binds the engine was asked to make recursively read-only. */
function recursiveTargets(hostMounts: readonly MountSettings[] | undefined): Set<string> {
  return new Set(
    (hostMounts ?? [])
      .filter((m) => (m as Partial<DockerBindMount>).BindOptions?.ReadOnlyForceRecursive)
      .map((m) => m.Target),
  );
}

/**
 * Docker's bind mounts of a container → CRI mounts (volumes of the image's own are not CRI
 * mounts). `hostMounts` is HostConfig.Mounts, where a recursive read-only request is recorded.
 */
export function fromInspectMounts(
  mounts: ContainerInspectInfo['Mounts'] | undefined,
  hostMounts?: readonly MountSettings[],
): Mount[] {
  const recursive = recursiveTargets(hostMounts);
  return (mounts ?? [])
    .filter((m) => m.Type === 'bind')
    .map((m) => ({
      container_path: m.Destination,
      host_path: m.Source,
      readonly: !m.RW,
      selinux_relabel: /(^|,)[zZ](,|$)/.test(m.Mode ?? ''),
      propagation: propagationOf(m.Propagation),
      ...(recursive.has(m.Destination) ? { recursive_read_only: true } : {}),
    }));
}
