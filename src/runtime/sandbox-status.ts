import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { PodSandboxStatusRequest__Output } from '../generated/runtime/v1/PodSandboxStatusRequest';
import type { PodSandboxStatusResponse } from '../generated/runtime/v1/PodSandboxStatusResponse';
import { nowNanos } from '../translate/time';
import {
  isHostNetwork,
  podIpsFromInspect,
  sandboxStatusFromInspect,
  sandboxVerboseInfo,
} from '../translate/sandbox-status';
import { findSandbox } from './sandbox-lookup';
import { podNetwork } from './sandbox-network';

export function podSandboxStatus(
  deps: Deps,
): UnaryImpl<PodSandboxStatusRequest__Output, PodSandboxStatusResponse> {
  return async (req) => {
    const { inspect } = await findSandbox(deps, req.pod_sandbox_id);
    const ips = isHostNetwork(inspect)
      ? podIpsFromInspect(inspect)
      : ((await podNetwork(deps).ips(inspect)) ?? podIpsFromInspect(inspect));
    return {
      status: sandboxStatusFromInspect(inspect, ips),
      info: req.verbose ? sandboxVerboseInfo(inspect, inspect.Config?.Image ?? '') : {},
      containers_statuses: [],
      timestamp: nowNanos(),
    };
  };
}
