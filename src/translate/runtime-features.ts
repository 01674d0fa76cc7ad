import type { RuntimeFeatures } from '../generated/runtime/v1/RuntimeFeatures';
import { MOUNT_OPTIONS_SUPPORTED } from './mount-options';

/**
 * Status's RuntimeFeatures. Docker cannot do Strict supplemental groups (refused at create), user
 * namespaces at all (so none with the host network either), nor noexec/nodev/nosuid bind options.
 */
export function runtimeFeatures(): RuntimeFeatures {
  return {
    supplemental_groups_policy: false,
    user_namespaces_host_network: false,
    mount_options: MOUNT_OPTIONS_SUPPORTED,
  };
}
