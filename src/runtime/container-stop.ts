import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StopContainerRequest__Output } from '../generated/runtime/v1/StopContainerRequest';
import type { StopContainerResponse } from '../generated/runtime/v1/StopContainerResponse';
import { invalidArgument } from '../grpc/status-error';
import { isNotFound, isNotModified } from '../docker/errors';
import { findContainerIfExists } from '../lookup/find-container';
import { MAX_TIMER_MS } from '../concurrency/timer';

/** Headroom over the grace period for Docker's own kill and wait after it. */
const STOP_MARGIN_MS = 30_000;

/**
 * The longest grace period passed on: our deadline cannot be longer (the largest timer), and
 * Docker turns `t` into nanoseconds, which overflows past about 292 years.
 */
export const MAX_GRACE_SECONDS = Math.floor((MAX_TIMER_MS - STOP_MARGIN_MS) / 1000);

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
    const grace = Math.min(Math.max(0, timeout), MAX_GRACE_SECONDS);
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
