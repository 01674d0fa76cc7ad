import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StopContainerRequest__Output } from '../generated/runtime/v1/StopContainerRequest';
import type { StopContainerResponse } from '../generated/runtime/v1/StopContainerResponse';
import { invalidArgument } from '../grpc/status-error';
import { isNotFound, isNotModified } from '../docker/errors';
import { findContainerIfExists } from '../lookup/find-container';

/** Headroom over the grace period for Docker's own kill and wait after it. */
const STOP_MARGIN_MS = 30_000;

/**
 * StopContainer: the stop signal, `timeout` seconds of grace, then SIGKILL (Docker's stop does all
 * three). Idempotent: stopped or absent containers succeed. Takes no lock (runtime/index.ts): a long grace
 * period would otherwise hold up every other call on the pod, and Docker serializes stops itself.
 */
export function stopContainer(deps: Deps): UnaryImpl<StopContainerRequest__Output, StopContainerResponse> {
  return async (req) => {
    const timeout = Number(req.timeout || 0);
    if (!Number.isSafeInteger(timeout))
      throw invalidArgument(`timeout "${req.timeout}" is not a number of seconds`);
    const grace = Math.max(0, timeout);
    const c = await findContainerIfExists(deps, req.container_id);
    if (!c) return {};
    try {
      await deps.engine.stopContainer(c.Id, grace, { timeoutMs: grace * 1000 + STOP_MARGIN_MS });
    } catch (err) {
      if (!isNotModified(err) && !isNotFound(err)) throw err;
    }
    return {};
  };
}
