import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { failedPrecondition, invalidArgument } from '../grpc/status-error';
import type { PortForwardRequest__Output } from '../generated/runtime/v1/PortForwardRequest';
import type { PortForwardResponse } from '../generated/runtime/v1/PortForwardResponse';
import { streamingUrl } from './exec';
import { findSandbox } from '../lookup/find-sandbox';

/** PortForward: validates the sandbox and ports, then returns the URL that forwards into the pod. */
export function portForward(deps: Deps): UnaryImpl<PortForwardRequest__Output, PortForwardResponse> {
  return async (req) => {
    for (const p of req.port ?? []) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`port ${p} is not in 1-65535`);
    }
    // Only a Kubernetes pod sandbox (NOT_FOUND for anything else) that runs.
    const { id, inspect: info } = await findSandbox(deps, req.pod_sandbox_id);
    if (!info.State.Running) {
      throw failedPrecondition(`pod sandbox "${id}" is not ready (state ${info.State.Status})`);
    }
    return { url: streamingUrl(deps, { kind: 'portforward', sandboxId: info.Id, ports: req.port ?? [] }) };
  };
}
