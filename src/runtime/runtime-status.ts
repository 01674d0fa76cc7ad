import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StatusRequest__Output } from '../generated/runtime/v1/StatusRequest';
import type { StatusResponse } from '../generated/runtime/v1/StatusResponse';
import type { RuntimeCondition } from '../generated/runtime/v1/RuntimeCondition';
import type { RuntimeHandler } from '../generated/runtime/v1/RuntimeHandler';
import { dockerMessage } from '../docker/errors';
import { engineInfo, type EngineInfo } from './engine-info';

/** How long Status waits for the engine before calling the runtime not ready. */
const PING_TIMEOUT_MS = 3000;

/**
 * RuntimeReady follows the engine's liveness (events stream and a recent ping, see engine-info.ts).
 * NetworkReady, with Docker's own bridge networking, follows the engine too (the bridge is the
 * engine's); a CNI mode reports its own readiness. Answered from memory while the engine is well.
 */
export function runtimeStatus(deps: Deps): UnaryImpl<StatusRequest__Output, StatusResponse> {
  const engine = engineInfo(deps.docker, deps.index, PING_TIMEOUT_MS);
  return async (req) => {
    let engineError: string | undefined;
    let info: EngineInfo | undefined;
    const live = await engine.liveness();
    if (live.ok) {
      info = await engine.get().catch((err: unknown) => {
        engineError = dockerMessage(err);
        return undefined;
      });
    } else engineError = live.error;
    const runtimeReady: RuntimeCondition = engineError
      ? {
          type: 'RuntimeReady',
          status: false,
          reason: 'DockerDaemonNotReady',
          message: `docker engine at ${deps.docker.endpoint} does not answer: ${engineError}`,
        }
      : { type: 'RuntimeReady', status: true, reason: '', message: '' };
    const network = engineError
      ? {
          ready: false,
          reason: 'DockerDaemonNotReady',
          message: 'network is unknown while the docker engine is down',
        }
      : await networkReadiness(deps);
    const networkReady: RuntimeCondition = {
      type: 'NetworkReady',
      status: network.ready,
      reason: network.reason,
      message: network.message,
    };
    const handlers: RuntimeHandler[] = [
      { name: '', features: { recursive_read_only_mounts: false, user_namespaces: false } },
    ];
    for (const name of Object.keys(info?.Runtimes ?? {})) {
      handlers.push({ name, features: { recursive_read_only_mounts: false, user_namespaces: false } });
    }
    const out: StatusResponse = {
      status: { conditions: [runtimeReady, networkReady] },
      info: {},
      runtime_handlers: handlers,
    };
    if (req.verbose) {
      out.info = {
        config: JSON.stringify(deps.config),
        docker: JSON.stringify(
          info
            ? {
                endpoint: deps.docker.endpoint,
                serverVersion: info.ServerVersion,
                cgroupDriver: info.CgroupDriver,
                cgroupVersion: info.CgroupVersion,
                storageDriver: info.Driver,
                dockerRootDir: info.DockerRootDir,
                runtimes: Object.keys(info.Runtimes ?? {}),
                defaultRuntime: info.DefaultRuntime,
              }
            : { endpoint: deps.docker.endpoint, error: engineError },
        ),
      };
    }
    return out;
  };
}

export interface NetworkReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

async function networkReadiness(deps: Deps): Promise<NetworkReadiness> {
  if (deps.network) return deps.network.readiness();
  return { ready: true, reason: '', message: '' };
}
