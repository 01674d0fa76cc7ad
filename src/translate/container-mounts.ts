/**
 * CRI mounts and devices → Docker Binds and Devices, and Docker's inspect mounts back. Pure: no I/O.
 *
 * Binds rather than HostConfig.Mounts, as dockershim did: a bind whose host path is missing is
 * created as a directory instead of failing the create, which is what kubelet volume plugins expect.
 */
import path from 'path';
import type { ContainerInspectInfo } from 'dockerode';
import type { Mount, Mount__Output } from '../generated/runtime/v1/Mount';
import type { Device__Output } from '../generated/runtime/v1/Device';
import type { MountPropagation__Output } from '../generated/runtime/v1/MountPropagation';
import { invalidArgument } from '../grpc/status-error';
import { withMountOptions } from './mount-options';

export interface DockerDevice {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

const PROPAGATION_OPTION: Record<MountPropagation__Output, string | undefined> = {
  PROPAGATION_PRIVATE: undefined,
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

function checkPath(p: string, field: string): string {
  if (!p) throw invalidArgument(`${field} is empty`);
  if (!path.isAbsolute(p)) throw invalidArgument(`${field} "${p}" must be an absolute path`);
  // Docker's bind syntax splits on ':'; such a path cannot be expressed without ambiguity.
  if (p.includes(':')) throw invalidArgument(`${field} "${p}" must not contain ':'`);
  return p;
}

/** One CRI mount → `host:container:options` for HostConfig.Binds. */
export function toBind(m: Mount__Output, field: string): string {
  const host = checkPath(m.host_path, `${field}.host_path`);
  const target = checkPath(m.container_path, `${field}.container_path`);
  if (m.image?.image) throw invalidArgument(`${field}.image: image volumes are not supported by docker-cri`);
  if (m.recursive_read_only) {
    throw invalidArgument(
      `${field}.recursive_read_only: recursive read-only mounts are not supported by Docker`,
    );
  }
  if (m.uidMappings?.length || m.gidMappings?.length) {
    throw invalidArgument(`${field}: id-mapped mounts are not supported by Docker`);
  }
  const options = [m.readonly ? 'ro' : 'rw'];
  if (m.selinux_relabel) options.push('Z');
  const mode = m.propagation || 'PROPAGATION_PRIVATE';
  if (!Object.hasOwn(PROPAGATION_OPTION, mode)) {
    throw invalidArgument(`${field}.propagation "${String(m.propagation)}" is unknown`);
  }
  const propagation = PROPAGATION_OPTION[mode];
  if (propagation) options.push(propagation);
  return `${host}:${target}:${withMountOptions(options, m.mount_options, field).join(',')}`;
}

export function toBinds(mounts: Mount__Output[] | undefined): string[] {
  return (mounts ?? []).map((m, i) => toBind(m, `config.mounts[${i}]`));
}

export function toDevices(devices: Device__Output[] | undefined): DockerDevice[] {
  return (devices ?? []).map((d, i) => {
    const field = `config.devices[${i}]`;
    const host = checkPath(d.host_path, `${field}.host_path`);
    const inContainer = d.container_path ? checkPath(d.container_path, `${field}.container_path`) : host;
    const permissions = d.permissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(permissions)) {
      throw invalidArgument(`${field}.permissions "${d.permissions}" must be a combination of r, w and m`);
    }
    return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: permissions };
  });
}

function propagationOf(p: string | undefined): MountPropagation__Output {
  if (p === 'rslave' || p === 'slave') return 'PROPAGATION_HOST_TO_CONTAINER';
  if (p === 'rshared' || p === 'shared') return 'PROPAGATION_BIDIRECTIONAL';
  return 'PROPAGATION_PRIVATE';
}

/** Docker's bind mounts of a container → CRI mounts (volumes of the image's own are not CRI mounts). */
export function fromInspectMounts(mounts: ContainerInspectInfo['Mounts'] | undefined): Mount[] {
  return (mounts ?? [])
    .filter((m) => m.Type === 'bind')
    .map((m) => ({
      container_path: m.Destination,
      host_path: m.Source,
      readonly: !m.RW,
      selinux_relabel: /(^|,)[zZ](,|$)/.test(m.Mode ?? ''),
      propagation: propagationOf(m.Propagation),
    }));
}
