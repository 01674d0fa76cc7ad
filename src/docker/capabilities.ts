/**
 * What the engine behind the socket can do, decided once from its version answer. Every difference
 * between Docker engines that docker-cri cares about is a field here, so that no other module
 * compares version numbers.
 */
import { logger } from '../logger';
import type { Engine } from './engine';

export interface EngineCapabilities {
  /** The engine's own version, e.g. "20.10.24+dfsg1" or "28.5.2". */
  serverVersion: string;
  /** The newest API version the engine speaks: what our unversioned calls get. */
  apiVersion: string;
  /** The kernel the engine runs containers on. */
  kernelVersion: string;
  /**
   * The engine takes BindOptions.ReadOnlyNonRecursive / ReadOnlyForceRecursive and
   * CreateMountpoint (API ≥ 1.44). Such an engine also makes a plain read-only bind recursively
   * read-only on its own (where the kernel can), so a non-recursive one must be asked for.
   */
  bindReadOnlyOptions: boolean;
  /** Recursively read-only binds work: the options above and a kernel with mount_setattr (≥ 5.12). */
  recursiveReadOnly: boolean;
  /**
   * The engine labels containers for SELinux (dockerd --selinux-enabled on an SELinux host: its
   * info's SecurityOptions has `name=selinux`), so volumes are relabelled for them (`:z`/`:Z`).
   */
  selinux: boolean;
}

/** The parts of Docker's GET /version answer the decision needs. */
export interface EngineVersion {
  Version?: string;
  ApiVersion?: string;
  KernelVersion?: string;
}

const BIND_OPTIONS_API = '1.44';
const MOUNT_SETATTR_KERNEL = '5.12';

/** Compares dotted numeric versions ("1.41" < "1.44", "5.4.0-1" < "5.12"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (/^\d+(\.\d+)*/.exec(v.trim())?.[0] ?? '0').split('.').map(Number);
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The parts of Docker's GET /info answer the decision needs. */
export interface EngineSecurity {
  /** Entries such as `name=seccomp,profile=builtin`, `name=selinux`, `name=apparmor`. */
  SecurityOptions?: string[];
}

/** Whether the engine runs containers with SELinux labels, from its info's SecurityOptions. */
export function selinuxOf(info: EngineSecurity): boolean {
  return (info.SecurityOptions ?? []).some((o) => o.split(',').includes('name=selinux'));
}

/** Pure: the capabilities an engine's version and info answers imply. */
export function capabilitiesOf(v: EngineVersion, info: EngineSecurity = {}): EngineCapabilities {
  const apiVersion = v.ApiVersion ?? '';
  const kernelVersion = v.KernelVersion ?? '';
  const bindReadOnlyOptions = apiVersion !== '' && compareVersions(apiVersion, BIND_OPTIONS_API) >= 0;
  return {
    serverVersion: v.Version ?? '',
    apiVersion,
    kernelVersion,
    bindReadOnlyOptions,
    recursiveReadOnly:
      bindReadOnlyOptions &&
      kernelVersion !== '' &&
      compareVersions(kernelVersion, MOUNT_SETATTR_KERNEL) >= 0,
    selinux: selinuxOf(info),
  };
}

/**
 * Detects the capabilities on first use and keeps them until forget(). A failed detection (engine
 * down) is not kept: the next call asks again, so a shim started before its engine learns it once
 * the engine answers.
 */
export class EngineCapabilityProbe {
  private pending: Promise<EngineCapabilities> | undefined;

  constructor(private readonly engine: Pick<Engine, 'version' | 'info'>) {}

  get(): Promise<EngineCapabilities> {
    this.pending ??= this.detect().catch((err: unknown) => {
      this.pending = undefined;
      throw err;
    });
    return this.pending;
  }

  /**
   * Asks again on the next use: called when the engine's event stream came back, since a dockerd
   * restarted behind the same socket may be another version.
   */
  forget(): void {
    this.pending = undefined;
  }

  private async detect(): Promise<EngineCapabilities> {
    const [v, info] = await Promise.all([this.engine.version(), this.engine.info()]);
    const caps = capabilitiesOf(v as EngineVersion, info);
    logger.info('docker engine capabilities', { ...caps });
    return caps;
  }
}
