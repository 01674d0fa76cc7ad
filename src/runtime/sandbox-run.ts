import fs from 'fs';
import type { ContainerCreateOptions, ContainerInspectInfo } from 'dockerode';
import type { Deps } from '../deps';
import type { CallContext, UnaryImpl } from '../grpc/handler';
import type { RunPodSandboxRequest__Output } from '../generated/runtime/v1/RunPodSandboxRequest';
import type { RunPodSandboxResponse } from '../generated/runtime/v1/RunPodSandboxResponse';
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig';
import { invalidArgument } from '../grpc/status-error';
import { isConflict, isNotFound } from '../docker/errors';
import { podKey } from '../concurrency/call-locks';
import { createNamed } from '../docker/named-create';
import { isSandboxLabels } from '../translate/labels';
import { renderResolvConf } from '../network/dns';
import { nowNanos } from '../translate/time';
import {
  namespacesOf,
  sandboxCreateOptions,
  SandboxConfigError,
  seccompProfilePath,
  validateSandboxConfig,
} from '../translate/sandbox-config';
import { logger } from '../logger';
import { ensurePauseImage } from '../image/pause-image';
import { clampOomScoreAdj, PAUSE_OOM_SCORE_ADJ } from '../host/oom-score';
import { podNetwork } from '../network/pod-network';
import { removePodSandbox } from './sandbox-remove';

function readSeccompProfile(file: string): string {
  const field = 'config.linux.security_context.seccomp.localhost_ref';
  if (!file.startsWith('/')) throw invalidArgument(`${field} "${file}" must be an absolute path on the node`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidArgument(`${field} "${file}" cannot be read: ${(err as Error).message}`);
  }
  try {
    JSON.parse(text);
  } catch {
    throw invalidArgument(`${field} "${file}" is not a JSON seccomp profile`);
  }
  return text;
}

/**
 * Docker fills empty DNS lists from the host's resolv.conf; the kubelet wants exactly what it said.
 * Containers that join the pod's network use this same file. An engine on another machine keeps
 * its file out of our reach: then Docker's own rendering (from HostConfig.Dns*) stands.
 */
function writeResolvConf(inspect: ContainerInspectInfo, config: PodSandboxConfig__Output): void {
  const dns = config.dns_config;
  const file = inspect.ResolvConfPath;
  if (!dns || !file) return;
  const wanted = renderResolvConf(dns);
  try {
    if (fs.readFileSync(file, 'utf8') === wanted) return;
    fs.writeFileSync(file, wanted);
  } catch (err) {
    logger.debug('resolv.conf of the pod is not reachable from here; Docker rendered it', {
      id: inspect.Id,
      error: (err as Error).message,
    });
  }
}

/**
 * The pause container under the pod attempt's own name (see docker/named-create.ts): a holder of an
 * earlier try that is not running is removed as RemovePodSandbox would (its containers too).
 */
function createWithName(deps: Deps, opts: ContainerCreateOptions, ctx: CallContext): Promise<string> {
  const name = opts.name as string;
  return createNamed(deps.engine, {
    name,
    what: 'pod sandbox',
    create: () => deps.engine.createContainer(opts, { context: `pod sandbox "${name}"` }),
    ours: (holder) => isSandboxLabels(holder.Config?.Labels),
    // Under the holder's own pod lock, as the lock table has every RemovePodSandbox: no call on that
    // pod runs meanwhile. No deadlock: pod-locked calls never wait on a sandbox name.
    removeHolder: async (id) => {
      await deps.podLocks.run(podKey(id), () => removePodSandbox(deps)({ pod_sandbox_id: id }, ctx));
    },
  });
}

/** Removes a half-made sandbox; its own failure is only logged, the original error is what counts. */
async function discard(deps: Deps, id: string): Promise<void> {
  try {
    await deps.engine.removeContainer(id, { context: `pod sandbox "${id}"` });
  } catch (err) {
    if (!isNotFound(err) && !isConflict(err))
      logger.error('could not remove a half-made pod sandbox', { id, error: (err as Error).message });
  }
}

export function runPodSandbox(deps: Deps): UnaryImpl<RunPodSandboxRequest__Output, RunPodSandboxResponse> {
  return async (req, ctx) => {
    let config: PodSandboxConfig__Output;
    try {
      config = validateSandboxConfig(req.config);
    } catch (err) {
      if (err instanceof SandboxConfigError) throw invalidArgument(err.message);
      throw err;
    }
    const handler = req.runtime_handler ?? '';
    await deps.engineFacts.checkRuntimeHandler(handler);
    const md = config.metadata!;
    const pauseImage = await ensurePauseImage(deps);
    const sc = config.linux?.security_context;
    const seccompPath = seccompProfilePath(sc);
    const seccompProfileJson = seccompPath !== undefined ? readSeccompProfile(seccompPath) : undefined;
    const cgroupDriver = config.linux?.cgroup_parent
      ? (await deps.engineFacts.get()).cgroupDriver
      : 'cgroupfs';
    const network = podNetwork(deps);
    let opts: ContainerCreateOptions;
    try {
      opts = sandboxCreateOptions({
        config,
        runtimeHandler: handler,
        pauseImage: deps.config.podInfraContainerImage,
        cgroupDriver,
        podNetworkMode: network.networkMode,
        networkPlugin: deps.config.networkPlugin,
        oomScoreAdj: clampOomScoreAdj(PAUSE_OOM_SCORE_ADJ),
        seccompProfileJson,
        createdAtNanos: nowNanos(),
      });
    } catch (err) {
      if (err instanceof SandboxConfigError) throw invalidArgument(err.message);
      throw err;
    }
    const id = await createWithName(deps, opts, ctx);
    try {
      await deps.engine.startContainer(id, { context: `pod sandbox "${id}"` });
      const inspect = await deps.engine.inspectContainer(id, { context: `pod sandbox "${id}"` });
      writeResolvConf(inspect, config);
      if (namespacesOf(sc?.namespace_options).network !== 'NODE') await network.setUp(inspect, config);
    } catch (err) {
      await discard(deps, id);
      throw err;
    }
    logger.info('pod sandbox running', { id, pod: `${md.namespace}/${md.name}`, image: pauseImage });
    return { pod_sandbox_id: id };
  };
}
