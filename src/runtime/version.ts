import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { VersionRequest__Output } from '../generated/runtime/v1/VersionRequest';
import type { VersionResponse } from '../generated/runtime/v1/VersionResponse';

/** The kubelet's version handshake: runtime_name stays "docker" as dockershim and cri-dockerd answer. */
export function version(deps: Deps): UnaryImpl<VersionRequest__Output, VersionResponse> {
  return async () => {
    const v = await deps.engine.version();
    return {
      version: '0.1.0',
      runtime_name: 'docker',
      runtime_version: v.Version,
      runtime_api_version: 'v1',
    };
  };
}
