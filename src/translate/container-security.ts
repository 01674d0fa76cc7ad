/**
 * LinuxContainerSecurityContext → Docker's User and HostConfig security fields. Pure: no I/O; a
 * Localhost seccomp profile is read by the caller (seccompChoice says which file) and passed in.
 */
import path from 'path';
import type { HostConfig } from 'dockerode';
import type { LinuxContainerSecurityContext__Output } from '../generated/runtime/v1/LinuxContainerSecurityContext';
import type { NamespaceOption__Output } from '../generated/runtime/v1/NamespaceOption';
import { ValidationError, PreconditionError } from '../errors';

const FIELD = 'config.linux.security_context';

export type SeccompChoice =
  { kind: 'unconfined' } | { kind: 'default' } | { kind: 'localhost'; path: string };

function localhostPath(ref: string, field: string): string {
  if (!ref || !path.isAbsolute(ref)) {
    throw new ValidationError(
      `${field}: a Localhost seccomp profile must be an absolute file path, got "${ref}"`,
    );
  }
  return ref;
}

/**
 * Which seccomp profile the kubelet asks for. The structured `seccomp` field wins over the
 * deprecated `seccomp_profile_path`; neither means unconfined, which is Kubernetes' default (the
 * kubelet sends RuntimeDefault itself when SeccompDefault is on).
 */
export function seccompChoice(sc: LinuxContainerSecurityContext__Output | null | undefined): SeccompChoice {
  if (!sc) return { kind: 'unconfined' };
  if (sc.seccomp) {
    switch (sc.seccomp.profile_type) {
      case 'Unconfined':
        return { kind: 'unconfined' };
      case 'Localhost':
        return {
          kind: 'localhost',
          path: localhostPath(sc.seccomp.localhost_ref, `${FIELD}.seccomp.localhost_ref`),
        };
      default:
        return { kind: 'default' };
    }
  }
  const p = sc.seccomp_profile_path ?? '';
  if (p === '' || p === 'unconfined') return { kind: 'unconfined' };
  if (p === 'runtime/default' || p === 'docker/default') return { kind: 'default' };
  if (p.startsWith('localhost/')) {
    return {
      kind: 'localhost',
      path: localhostPath(p.slice('localhost/'.length), `${FIELD}.seccomp_profile_path`),
    };
  }
  throw new ValidationError(
    `${FIELD}.seccomp_profile_path "${p}" is not unconfined, runtime/default or localhost/<path>`,
  );
}

/** The `apparmor=` security option, if any (RuntimeDefault: Docker's own docker-default profile). */
function apparmorOption(sc: LinuxContainerSecurityContext__Output): string | undefined {
  if (sc.apparmor) {
    switch (sc.apparmor.profile_type) {
      case 'Unconfined':
        return 'apparmor=unconfined';
      case 'Localhost': {
        const name = sc.apparmor.localhost_ref.replace(/^localhost\//, '');
        if (!name) throw new ValidationError(`${FIELD}.apparmor.localhost_ref is empty`);
        return `apparmor=${name}`;
      }
      default:
        return undefined;
    }
  }
  const p = sc.apparmor_profile ?? '';
  if (p === '' || p === 'runtime/default') return undefined;
  if (p === 'unconfined') return 'apparmor=unconfined';
  if (p.startsWith('localhost/') && p.length > 'localhost/'.length)
    return `apparmor=${p.slice('localhost/'.length)}`;
  throw new ValidationError(
    `${FIELD}.apparmor_profile "${p}" is not runtime/default, unconfined or localhost/<name>`,
  );
}

/** Capability names as Docker 20.10+ takes them: upper case with the CAP_ prefix, or ALL. */
export function normalizeCapabilities(caps: string[] | undefined, field: string): string[] {
  return (caps ?? []).map((c, i) => {
    const up = c.trim().toUpperCase();
    if (up === 'ALL') return 'ALL';
    const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
    if (!/^CAP_[A-Z0-9_]+$/.test(name))
      throw new ValidationError(`${field}[${i}] "${c}" is not a capability name`);
    return name;
  });
}

/** Docker's `User`: uid or username, with `:gid` when a group is asked for. */
export function dockerUser(sc: LinuxContainerSecurityContext__Output | null | undefined): string | undefined {
  if (!sc) return undefined;
  let user: string | undefined;
  if (sc.run_as_user) {
    const uid = Number(sc.run_as_user.value);
    if (!Number.isSafeInteger(uid) || uid < 0) {
      throw new ValidationError(`${FIELD}.run_as_user "${sc.run_as_user.value}" is not a valid uid`);
    }
    user = String(uid);
  } else if (sc.run_as_username) {
    if (/[:\s]/.test(sc.run_as_username)) {
      throw new ValidationError(`${FIELD}.run_as_username "${sc.run_as_username}" is not a valid user name`);
    }
    user = sc.run_as_username;
  }
  if (sc.run_as_group) {
    const gid = Number(sc.run_as_group.value);
    if (!Number.isSafeInteger(gid) || gid < 0) {
      throw new ValidationError(`${FIELD}.run_as_group "${sc.run_as_group.value}" is not a valid gid`);
    }
    if (user === undefined) {
      throw new ValidationError(`${FIELD}.run_as_group needs run_as_user or run_as_username as well`);
    }
    user = `${user}:${gid}`;
  }
  return user;
}

export type DockerSecurity = Pick<
  HostConfig,
  | 'Privileged'
  | 'CapAdd'
  | 'CapDrop'
  | 'GroupAdd'
  | 'ReadonlyRootfs'
  | 'SecurityOpt'
  | 'MaskedPaths'
  | 'ReadonlyPaths'
  | 'DeviceCgroupRules'
>;

/**
 * Privileged without Docker's privileged flag, for hosts whose bounding set lacks capabilities:
 * every capability the host has, no seccomp/AppArmor/SELinux confinement, nothing masked or
 * read-only, every device allowed by the device cgroup. What it cannot give: the host's device
 * nodes in /dev and a writable /sys.
 */
function privilegedOnLimitedHost(out: DockerSecurity, available: readonly string[], opts: string[]): void {
  delete out.Privileged;
  out.CapAdd = [...available];
  delete out.CapDrop;
  out.MaskedPaths = [];
  out.ReadonlyPaths = [];
  out.DeviceCgroupRules = ['a *:* rwm'];
  for (const o of ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable']) {
    const key = o.split('=')[0];
    const i = opts.findIndex((x) => x.startsWith(`${key}=`));
    if (i >= 0) opts.splice(i, 1);
    opts.push(o);
  }
}

/**
 * HostConfig security fields. `seccompProfile` is the JSON of the Localhost profile when
 * seccompChoice() named a file; `hostCapabilities` is the host's bounding set when it lacks some
 * capability (undefined: it has them all).
 */
export function toDockerSecurity(
  sc: LinuxContainerSecurityContext__Output | null | undefined,
  seccompProfile?: string,
  hostCapabilities?: readonly string[],
): DockerSecurity {
  if (!sc) return { SecurityOpt: ['seccomp=unconfined'] };
  const out: DockerSecurity = {};
  if (sc.privileged) out.Privileged = true;
  const add = normalizeCapabilities(
    sc.capabilities?.add_capabilities,
    `${FIELD}.capabilities.add_capabilities`,
  );
  const drop = normalizeCapabilities(
    sc.capabilities?.drop_capabilities,
    `${FIELD}.capabilities.drop_capabilities`,
  );
  if (sc.capabilities?.add_ambient_capabilities?.length) {
    throw new ValidationError(
      `${FIELD}.capabilities.add_ambient_capabilities: ambient capabilities are not supported by Docker`,
    );
  }
  if (hostCapabilities) {
    for (const [i, cap] of add.entries()) {
      if (cap !== 'ALL' && !hostCapabilities.includes(cap)) {
        throw new PreconditionError(
          `${FIELD}.capabilities.add_capabilities[${i}]: ${cap} is not in this host's capability bounding set`,
        );
      }
    }
  }
  // ALL on a limited host would ask runc for what it cannot have: ask for what there is.
  const adds = hostCapabilities && add.includes('ALL') ? [...hostCapabilities] : add;
  if (adds.length) out.CapAdd = adds;
  if (drop.length) out.CapDrop = drop;
  const groups = (sc.supplemental_groups ?? []).map((g, i) => {
    const n = Number(g);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ValidationError(`${FIELD}.supplemental_groups[${i}] "${g}" is not a gid`);
    return String(n);
  });
  if (groups.length) out.GroupAdd = groups;
  if (sc.supplemental_groups_policy === 'Strict') {
    // Docker itself reads the image's /etc/group at start and adds every group listing the user
    // (by name, even for a numeric uid), after any GroupAdd; no create option turns that off, and
    // hiding the file would change the container's filesystem. So Strict is refused, not faked.
    throw new ValidationError(
      `${FIELD}.supplemental_groups_policy Strict is not supported by Docker: the engine always adds the groups the image's /etc/group lists for the user`,
    );
  }
  if (sc.readonly_rootfs) out.ReadonlyRootfs = true;

  const opts: string[] = [];
  if (sc.no_new_privs) opts.push('no-new-privileges');
  const seccomp = seccompChoice(sc);
  if (seccomp.kind === 'unconfined') opts.push('seccomp=unconfined');
  else if (seccomp.kind === 'localhost') {
    if (!seccompProfile) throw new Error('seccomp profile content missing for a Localhost profile');
    opts.push(`seccomp=${seccompProfile}`);
  }
  const apparmor = apparmorOption(sc);
  if (apparmor) opts.push(apparmor);
  const se = sc.selinux_options;
  if (se) {
    for (const key of ['user', 'role', 'type', 'level'] as const) {
      if (se[key]) opts.push(`label=${key}:${se[key]}`);
    }
  }
  // Empty lists mean "the runtime's default" here (proto3 cannot tell empty from unset).
  if (sc.masked_paths?.length) out.MaskedPaths = [...sc.masked_paths];
  if (sc.readonly_paths?.length) out.ReadonlyPaths = [...sc.readonly_paths];
  if (sc.privileged && hostCapabilities) privilegedOnLimitedHost(out, hostCapabilities, opts);
  if (opts.length) out.SecurityOpt = opts;
  return out;
}

/** Docker has no per-pod user namespaces (only the daemon-wide userns-remap). */
export function checkUserNamespace(ns: NamespaceOption__Output | null | undefined): void {
  const mode = ns?.userns_options?.mode;
  if (mode && mode !== 'NODE') {
    throw new ValidationError(
      `${FIELD}.namespace_options.userns_options: per-pod user namespaces are not supported by Docker`,
    );
  }
}
