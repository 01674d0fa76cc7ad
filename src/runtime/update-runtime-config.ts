import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { invalidArgument } from '../grpc/status-error';
import type { UpdateRuntimeConfigRequest__Output } from '../generated/runtime/v1/UpdateRuntimeConfigRequest';
import type { UpdateRuntimeConfigResponse } from '../generated/runtime/v1/UpdateRuntimeConfigResponse';
import { logger } from '../logger';
import { parseCidr, splitPodCidrs } from '../network/cni/pod-cidr';

/**
 * The kubelet sends the node's pod CIDR (comma-separated when dual-stack). In CNI mode it reaches
 * the plugins as the ipRanges capability; with Docker's bridge the engine owns addressing and the
 * value is only checked. An empty CIDR leaves the current one alone, as the kubelet sends that
 * before the node has one.
 */
export function updateRuntimeConfig(
  deps: Deps,
): UnaryImpl<UpdateRuntimeConfigRequest__Output, UpdateRuntimeConfigResponse> {
  return async (req) => {
    const text = req.runtime_config?.network_config?.pod_cidr ?? '';
    const cidrs = splitPodCidrs(text);
    for (const c of cidrs) {
      if (!parseCidr(c)) {
        throw invalidArgument(
          `runtime_config.network_config.pod_cidr: "${c}" is not a CIDR like 10.244.0.0/24`,
        );
      }
    }
    if (cidrs.length === 0) return {};
    const store = deps.network?.podCidrs;
    if (!store) {
      logger.debug('pod CIDR ignored: the docker network plugin assigns addresses itself', { podCidr: text });
      return {};
    }
    const before = store.get();
    if (before.join(',') !== cidrs.join(',')) {
      await store.set(cidrs);
      logger.info('pod CIDR updated', { podCidrs: cidrs, before });
    }
    return {};
  };
}
