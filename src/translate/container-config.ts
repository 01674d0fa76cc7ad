/**
 * CRI ContainerConfig (+ the pod's config) → Docker's create options. Pure: the caller resolves
 * the image, the sandbox, and reads any seccomp profile file before calling.
 */
import path from 'path';
import type { ContainerCreateOptions } from 'dockerode';
import type { ContainerConfig__Output } from '../generated/runtime/v1/ContainerConfig';
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig';
import { ValidationError } from '../errors';
import { LABEL_LOG_PATH, LABEL_SANDBOX_ID, LABEL_TYPE, TYPE_CONTAINER, encodeLabels } from './labels';
import { containerName } from './names';
import {
  LABEL_CONTAINER_ATTEMPT,
  LABEL_CONTAINER_META_NAME,
  LABEL_IMAGE,
  LABEL_IMAGE_REF,
  LABEL_RESOURCES,
  LABEL_USER_IMAGE,
} from './container-labels';
import { extraResourcesLabel, toDockerResources } from './container-resources';
import { toDevices, toDockerBinds, type BindCapabilities } from './container-mounts';
import { checkUserNamespace, dockerUser, toDockerSecurity } from './container-security';
import { dockerEnv, envValue } from './env';
import { toDockerStopSignal } from './stop-signal';

/** The annotation under which the kubelet says where the termination message file is mounted. */
export const ANNOTATION_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';

/** What the pod's sandbox contributes, read from the pause container. */
export interface SandboxFacts {
  id: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  cgroupParent: string;
  /** The pod's log directory as recorded at RunPodSandbox, for requests without sandbox_config. */
  logDirectory?: string;
}

export interface CreateInput {
  config: ContainerConfig__Output;
  sandbox: SandboxFacts;
  /** sandbox_config of the request, if any. */
  sandboxConfig: PodSandboxConfig__Output | null;
  /** The image as inspected: its id and repo digests. */
  image: { id: string; repoDigests: string[] };
  /** JSON of the Localhost seccomp profile, when one was asked for. */
  seccompProfile?: string;
  /** The host's capability bounding set when it lacks some (see container-caps.ts). */
  hostCapabilities?: readonly string[];
  /** Adapts oom_score_adj to what the host allows (negative values are refused on some hosts). */
  clampOom?: (v: number) => number;
  /** What the engine can do with read-only binds (docker/capabilities.ts). */
  engine: BindCapabilities;
  /** How the container joins its sandbox (from the sandbox engineer's containerJoinModes). */
  namespaces: { NetworkMode: string; IpcMode: string; PidMode: string; UTSMode: string };
}

/** A Docker name needs [a-zA-Z0-9][a-zA-Z0-9_.-]*; Kubernetes names always are. */
const NAME_CHARS = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;

/** The request checks that come before any Docker call; INVALID_ARGUMENT names the field. */
export function validateConfig(config: ContainerConfig__Output | null | undefined): ContainerConfig__Output {
  if (!config) throw new ValidationError('config is required');
  if (!config.metadata?.name) throw new ValidationError('config.metadata.name is required');
  if (!NAME_CHARS.test(config.metadata.name)) {
    throw new ValidationError(
      `config.metadata.name "${config.metadata.name}" must hold only letters, digits, '.' and '-' and start with a letter or digit`,
    );
  }
  if (!config.image?.image) throw new ValidationError('config.image.image is required');
  for (const [i, kv] of (config.envs ?? []).entries()) {
    if (!kv.key) throw new ValidationError(`config.envs[${i}].key is empty`);
    if (kv.key.includes('='))
      throw new ValidationError(`config.envs[${i}].key "${kv.key}" must not contain '='`);
    envValue(kv, i);
  }
  toDockerStopSignal(config.stop_signal);
  if (config.working_dir && !path.isAbsolute(config.working_dir)) {
    throw new ValidationError(`config.working_dir "${config.working_dir}" must be an absolute path`);
  }
  return config;
}

/**
 * The log file's full path: log_directory + log_path, refusing a log_path that is absolute or
 * climbs out of the directory. Empty when either is missing (the container then has no log file).
 */
export function logPathOf(logDirectory: string | undefined, logPath: string | undefined): string {
  if (!logPath) return '';
  if (path.isAbsolute(logPath))
    throw new ValidationError(`config.log_path "${logPath}" must be relative to the pod's log_directory`);
  const normal = path.normalize(logPath);
  if (normal === '..' || normal.startsWith(`..${path.sep}`)) {
    throw new ValidationError(`config.log_path "${logPath}" must not leave the pod's log_directory`);
  }
  if (!logDirectory) return '';
  return path.join(logDirectory, normal);
}

/** Kubernetes' command/args over the image's ENTRYPOINT/CMD. */
export function entrypointAndCmd(
  command: string[] | undefined,
  args: string[] | undefined,
): Pick<ContainerCreateOptions, 'Entrypoint' | 'Cmd'> {
  if (command?.length) {
    // Docker drops the image's CMD once an entrypoint is given: args alone, as Kubernetes wants.
    return args?.length ? { Entrypoint: [...command], Cmd: [...args] } : { Entrypoint: [...command] };
  }
  if (args?.length) return { Cmd: [...args] };
  return {};
}

/** The image reference to report as image_ref: a repo digest when there is one, else the id. */
export function imageRefOf(image: { id: string; repoDigests: string[] }): string {
  return image.repoDigests[0] ?? image.id;
}

export function dockerNameOf(config: ContainerConfig__Output, sandbox: SandboxFacts): string {
  return containerName({
    containerName: config.metadata!.name,
    podName: sandbox.podName,
    namespace: sandbox.podNamespace,
    uid: sandbox.podUid,
    attempt: config.metadata!.attempt ?? 0,
  });
}

export function toCreateOptions(input: CreateInput): ContainerCreateOptions {
  const { config, sandbox, sandboxConfig, image } = input;
  const linux = config.linux;
  const sc = linux?.security_context ?? null;
  checkUserNamespace(sc?.namespace_options);
  const logPath = logPathOf(sandboxConfig?.log_directory || sandbox.logDirectory, config.log_path);

  const internal: Record<string, string> = {
    [LABEL_TYPE]: TYPE_CONTAINER,
    [LABEL_SANDBOX_ID]: sandbox.id,
    [LABEL_CONTAINER_META_NAME]: config.metadata!.name,
    [LABEL_CONTAINER_ATTEMPT]: String(config.metadata!.attempt ?? 0),
    [LABEL_IMAGE]: config.image!.image,
    [LABEL_IMAGE_REF]: imageRefOf(image),
  };
  if (logPath) internal[LABEL_LOG_PATH] = logPath;
  if (config.image?.user_specified_image) internal[LABEL_USER_IMAGE] = config.image.user_specified_image;
  const extra = extraResourcesLabel(linux?.resources);
  if (extra) internal[LABEL_RESOURCES] = extra;
  const labels = encodeLabels(config.labels, config.annotations, internal);
  const binds = toDockerBinds(config.mounts, input.engine);

  const opts: ContainerCreateOptions = {
    name: dockerNameOf(config, sandbox),
    Image: image.id,
    ...entrypointAndCmd(config.command, config.args),
    Env: dockerEnv(config.envs),
    Labels: labels,
    OpenStdin: config.stdin,
    StdinOnce: config.stdin_once,
    Tty: config.tty,
    HostConfig: {
      NetworkMode: input.namespaces.NetworkMode,
      IpcMode: input.namespaces.IpcMode,
      PidMode: input.namespaces.PidMode,
      ...(input.namespaces.UTSMode ? { UTSMode: input.namespaces.UTSMode } : {}),
      ...toDockerSecurity(sc, input.seccompProfile, input.hostCapabilities),
      ...toDockerResources(linux?.resources, 'config.linux.resources', input.clampOom),
      Binds: binds.Binds,
      ...(binds.Mounts.length ? { Mounts: binds.Mounts } : {}),
      Devices: toDevices(config.devices),
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    },
  };
  if (config.working_dir) opts.WorkingDir = config.working_dir;
  const stopSignal = toDockerStopSignal(config.stop_signal);
  if (stopSignal) opts.StopSignal = stopSignal;
  const user = dockerUser(sc);
  if (user !== undefined) opts.User = user;
  // The pause container's own parent: already in the form the engine's cgroup driver wants.
  if (sandbox.cgroupParent) opts.HostConfig!.CgroupParent = sandbox.cgroupParent;
  return opts;
}
