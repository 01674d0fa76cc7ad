import type { ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig';
import { podIpsFromInspect, type PodIps } from '../translate/sandbox-status';

/**
 * How a pod whose network namespace is its own (namespace mode POD) gets its network. The default
 * is Docker's bridge, where the engine does everything; a CNI mode swaps in its own plugin through
 * deps.network.pod. Host-network pods never reach these hooks.
 */
export interface PodNetworkPlugin {
  /** Docker NetworkMode of the pause container ("bridge" for the engine's, "none" for CNI). */
  readonly networkMode: string;
  /** After the pause container started; a failure removes the sandbox. */
  setUp(sandbox: ContainerInspectInfo, config: PodSandboxConfig__Output): Promise<void>;
  /** Before the pause container stops; must succeed when there is nothing to tear down. */
  tearDown(sandbox: ContainerInspectInfo): Promise<void>;
  /** The pod's IPs; undefined lets the engine's own answer (inspect) stand. */
  ips(sandbox: ContainerInspectInfo): Promise<PodIps | undefined>;
}

export const dockerBridge: PodNetworkPlugin = {
  networkMode: 'bridge',
  async setUp() {
    // The engine attached the bridge when it started the container.
  },
  async tearDown() {
    // The engine detaches the bridge when the container stops.
  },
  async ips(sandbox) {
    return podIpsFromInspect(sandbox);
  },
};

export function podNetwork(deps: Deps): PodNetworkPlugin {
  return deps.network?.pod ?? dockerBridge;
}
