/**
 * Mount.mount_options (cri-api v0.37) → Docker bind options. Pure: no I/O.
 *
 * A Docker bind takes only ro/rw, a propagation mode and z/Z, and is always recursive (rbind): those
 * options are applied; every other one (noexec, nodev, nosuid, bind, …) has no Docker spelling and
 * is refused naming it, rather than silently mounted without it. For the same reason the runtime
 * advertises RuntimeFeatures.mount_options = false (see MOUNT_OPTIONS_SUPPORTED).
 */
import { ValidationError } from '../errors';

/** What Status reports as RuntimeFeatures.mount_options: the kubelet's options (noexec, nodev, nosuid) cannot be applied. */
export const MOUNT_OPTIONS_SUPPORTED = false;

const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);

/**
 * The bind options after `requested` is applied to `base` (what the mount's other fields gave:
 * ro|rw first, then Z and a propagation mode). `field` is the mount's request path.
 */
export function withMountOptions(base: string[], requested: string[] | undefined, field: string): string[] {
  if (!requested?.length) return base;
  const out = [...base];
  const at = `${field}.mount_options`;
  for (const raw of requested) {
    const opt = raw.trim();
    if (opt === 'ro' || opt === 'rw') {
      if (out[0] !== opt && out[0] === 'ro') {
        throw new ValidationError(`${at}: "rw" conflicts with readonly=true`);
      }
      out[0] = opt;
    } else if (PROPAGATIONS.has(opt)) {
      const current = out.find((o) => PROPAGATIONS.has(o));
      if (current && current !== opt) {
        throw new ValidationError(`${at}: "${opt}" conflicts with propagation "${current}"`);
      }
      if (!current) out.push(opt);
    } else if (opt === 'z' || opt === 'Z') {
      if (!out.includes('z') && !out.includes('Z')) out.push(opt);
    } else if (opt === 'rbind') {
      // Docker's binds are recursive already.
    } else {
      throw new ValidationError(`${at}: "${opt}" cannot be applied by Docker's bind mounts`);
    }
  }
  return out;
}
