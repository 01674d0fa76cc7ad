import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { RuntimeConfigRequest__Output } from '../generated/runtime/v1/RuntimeConfigRequest';
import type { RuntimeConfigResponse } from '../generated/runtime/v1/RuntimeConfigResponse';

/** The kubelet matches its cgroup driver to this answer, so it must be the engine's own. */
export function runtimeConfig(deps: Deps): UnaryImpl<RuntimeConfigRequest__Output, RuntimeConfigResponse> {
  return async () => {
    const info = await deps.engine.info();
    return { linux: { cgroup_driver: cgroupDriverOf(String(info.CgroupDriver ?? '')) } };
  };
}

export function cgroupDriverOf(dockerDriver: string): 'SYSTEMD' | 'CGROUPFS' {
  return dockerDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS';
}
