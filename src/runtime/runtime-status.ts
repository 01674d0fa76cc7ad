import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { StatusRequest__Output } from '../generated/runtime/v1/StatusRequest';
import type { StatusResponse } from '../generated/runtime/v1/StatusResponse';
import type { RuntimeCondition } from '../generated/runtime/v1/RuntimeCondition';
import type { RuntimeHandler } from '../generated/runtime/v1/RuntimeHandler';
import { dockerMessage } from '../docker/errors';
import type { EngineInfo } from '../docker/engine';
import { runtimeFeatures } from '../translate/runtime-features';
import type { EngineCapabilities } from '../docker/capabilities';

/**
 * RuntimeReady follows the engine's liveness (events stream and a recent ping, see docker/engine-info-cache.ts).
 * NetworkReady, with Docker's own bridge networking, follows the engine too (the bridge is the
 * engine's); a CNI mode reports its own readiness. Answered from memory while the engine is well.
 */
export function runtimeStatus(deps: Deps): UnaryImpl<StatusRequest__Output, StatusResponse> {
  return async (req) => {
    let engineError: string | undefined;
    let info: EngineInfo | undefined;
    let caps: EngineCapabilities | undefined;
    const live = await deps.engineInfo.liveness();
    if (live.ok) {
      try {
        info = await deps.engineInfo.get();
        caps = await deps.capabilities.get();
      } catch (err) {
        engineError = dockerMessage(err);
      }
    } else engineError = live.error;
    const runtimeReady: RuntimeCondition = engineError
      ? {
          type: 'RuntimeReady',
          status: false,
          reason: 'DockerDaemonNotReady',
          message: `docker engine at ${deps.engine.endpoint} does not answer: ${engineError}`,
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
    // Recursive read-only is the engine's doing (BindOptions), the same for every runtime it runs.
    const features = { recursive_read_only_mounts: caps?.recursiveReadOnly ?? false, user_namespaces: false };
    const handlers: RuntimeHandler[] = [{ name: '', features }];
    for (const name of Object.keys(info?.Runtimes ?? {})) handlers.push({ name, features: { ...features } });
    const out: StatusResponse = {
      status: { conditions: [runtimeReady, networkReady] },
      info: {},
      runtime_handlers: handlers,
      features: runtimeFeatures(),
    };
    if (req.verbose) {
      out.info = {
        config: JSON.stringify(deps.config),
        docker: JSON.stringify(
          info
            ? {
                endpoint: deps.engine.endpoint,
                serverVersion: info.ServerVersion,
                cgroupDriver: info.CgroupDriver,
                cgroupVersion: info.CgroupVersion,
                storageDriver: info.Driver,
                dockerRootDir: info.DockerRootDir,
                runtimes: Object.keys(info.Runtimes ?? {}),
                defaultRuntime: info.DefaultRuntime,
                capabilities: caps,
              }
            : { endpoint: deps.engine.endpoint, error: engineError },
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
