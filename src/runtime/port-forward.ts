import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { failedPrecondition, invalidArgument, notFound } from '../grpc/status-error';
import type { PortForwardRequest__Output } from '../generated/runtime/v1/PortForwardRequest';
import type { PortForwardResponse } from '../generated/runtime/v1/PortForwardResponse';
import { isSandboxLabels } from '../translate/labels';
import { streamingUrl } from './exec';
import { checkId } from './ids';

/** PortForward: validates the sandbox and ports, then returns the URL that forwards into the pod. */
export function portForward(deps: Deps): UnaryImpl<PortForwardRequest__Output, PortForwardResponse> {
  return async (req) => {
    const id = req.pod_sandbox_id;
    checkId(id, 'pod_sandbox_id', 'pod sandbox');
    for (const p of req.port ?? []) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`port ${p} is not in 1-65535`);
    }
    const info = await deps.engine.inspectContainer(id, { context: `pod sandbox "${id}"` });
    if (!isSandboxLabels(info.Config.Labels ?? undefined)) throw notFound(`pod sandbox "${id}" not found`);
    if (!info.State.Running) {
      throw failedPrecondition(`pod sandbox "${id}" is not ready (state ${info.State.Status})`);
    }
    return { url: streamingUrl(deps, { kind: 'portforward', sandboxId: info.Id, ports: req.port ?? [] }) };
  };
}
