import { status } from '../grpc/status-codes';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { CriError, failedPrecondition, invalidArgument } from '../grpc/status-error';
import type { ExecRequest__Output } from '../generated/runtime/v1/ExecRequest';
import type { ExecResponse } from '../generated/runtime/v1/ExecResponse';
import type { StreamTarget } from '../streaming/requests';
import { findContainer } from '../lookup/find-container';

/**
 * The container's full id, after checking that it is a Kubernetes workload container (not a pause
 * container, not one made outside Kubernetes: NOT_FOUND) and that it runs.
 */
export async function runningContainer(deps: Deps, id: string): Promise<string> {
  const info = await findContainer(deps, id);
  if (!info.State.Running) {
    throw failedPrecondition(`container "${info.Id}" is not running (state ${info.State.Status})`);
  }
  return info.Id;
}

/** Stores a streaming request and gives its URL; a full token cache is RESOURCE_EXHAUSTED. */
export function streamingUrl(deps: Deps, target: StreamTarget): string {
  if (!deps.streaming) throw new CriError(status.UNAVAILABLE, 'the streaming server is not running');
  const url = deps.streaming.urlFor(target);
  if (!url) throw new CriError(status.RESOURCE_EXHAUSTED, 'too many streaming requests in flight; try again');
  return url;
}

export function checkStreams(req: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): void {
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw invalidArgument('one of stdin, stdout or stderr must be true');
  }
  if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be true');
}

/** Exec: validates, then returns the URL at which the command runs once a client connects. */
export function exec(deps: Deps): UnaryImpl<ExecRequest__Output, ExecResponse> {
  return async (req) => {
    if (!req.cmd || req.cmd.length === 0 || req.cmd[0] === '') throw invalidArgument('cmd must not be empty');
    checkStreams(req);
    const containerId = await runningContainer(deps, req.container_id);
    return {
      url: streamingUrl(deps, {
        kind: 'exec',
        containerId,
        cmd: req.cmd,
        tty: req.tty,
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
      }),
    };
  };
}
