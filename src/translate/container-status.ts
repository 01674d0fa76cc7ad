/**
 * Docker inspect (and list entries) → CRI ContainerStatus and Container. Pure: the caller reads the
 * termination message file and the process's ids and passes them in.
 */
import type { ContainerInspectInfo } from 'dockerode';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import type { ContainerState__Output } from '../generated/runtime/v1/ContainerState';
import type { Mount } from '../generated/runtime/v1/Mount';
import { LABEL_LOG_PATH, LABEL_SANDBOX_ID, decodeLabels } from './labels';
import { rfc3339ToNanos } from './time';
import {
  LABEL_IMAGE,
  LABEL_IMAGE_REF,
  LABEL_RESOURCES,
  LABEL_USER_IMAGE,
  containerMeta,
} from './container-labels';
import { fromDockerResources } from './container-resources';
import { fromDockerStopSignal } from './stop-signal';
import { fromInspectMounts } from './container-mounts';

/** Docker's state word → CRI state. */
export function criState(dockerState: string | undefined): ContainerState__Output {
  switch (dockerState) {
    case 'created':
      return 'CONTAINER_CREATED';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'CONTAINER_RUNNING';
    case 'exited':
    case 'dead':
      return 'CONTAINER_EXITED';
    default:
      return 'CONTAINER_UNKNOWN';
  }
}

/** Docker's image id as CRI reports ids: with the sha256: prefix. */
function imageId(id: string | undefined): string {
  if (!id) return '';
  return id.includes(':') ? id : `sha256:${id}`;
}

/** A container whose start failed: Docker keeps the error and an exit code but never a start time. */
export function cannotRun(state: ContainerInspectInfo['State']): boolean {
  return !!state?.Error && !state.Running && rfc3339ToNanos(state.StartedAt) === '0';
}

export interface ProcessIds {
  uid: number;
  gid: number;
  groups: number[];
}

export interface StatusExtras {
  /** The ids the main process runs with, when they could be read. */
  user?: ProcessIds;
}

export function toContainerStatus(inspect: ContainerInspectInfo, extras: StatusExtras = {}): ContainerStatus {
  const dockerLabels = inspect.Config?.Labels ?? {};
  const { labels, annotations } = decodeLabels(dockerLabels);
  const st = inspect.State;
  let state = criState(st?.Status);
  let reason = '';
  let message = '';
  const failedStart = cannotRun(st);
  let finishedAt = rfc3339ToNanos(st?.FinishedAt);
  if (failedStart) {
    // The kubelet must see it as dead, or it would wait forever for a start that is not coming.
    state = 'CONTAINER_EXITED';
    reason = 'ContainerCannotRun';
    message = st.Error;
    if (finishedAt === '0') finishedAt = rfc3339ToNanos(inspect.Created);
  } else if (state === 'CONTAINER_EXITED') {
    if (st.OOMKilled) reason = 'OOMKilled';
    else if (st.ExitCode === 0) reason = 'Completed';
    else reason = 'Error';
    message = st.Error ?? '';
  }
  // Never the termination message file: the kubelet reads it itself (the mount is in `mounts`) and
  // appends it to this message after ": ", so a runtime that copied it in showed it twice.

  const mounts: Mount[] = fromInspectMounts(inspect.Mounts, inspect.HostConfig?.Mounts);
  const status: ContainerStatus = {
    id: inspect.Id,
    metadata: containerMeta(dockerLabels, inspect.Name ?? ''),
    state,
    created_at: rfc3339ToNanos(inspect.Created),
    started_at: rfc3339ToNanos(st?.StartedAt),
    finished_at: state === 'CONTAINER_EXITED' ? finishedAt : '0',
    exit_code: state === 'CONTAINER_EXITED' ? (st?.ExitCode ?? 0) : 0,
    image: {
      image: dockerLabels[LABEL_IMAGE] || inspect.Config?.Image || '',
      user_specified_image: dockerLabels[LABEL_USER_IMAGE] ?? '',
    },
    image_ref: dockerLabels[LABEL_IMAGE_REF] || imageId(inspect.Image),
    image_id: imageId(inspect.Image),
    reason,
    message,
    labels,
    annotations,
    mounts,
    log_path: dockerLabels[LABEL_LOG_PATH] ?? '',
    resources: { linux: fromDockerResources(inspect.HostConfig, dockerLabels[LABEL_RESOURCES]) },
    // Docker copies the image's STOPSIGNAL into the container's config when none was asked for.
    stop_signal: fromDockerStopSignal((inspect.Config as { StopSignal?: string } | undefined)?.StopSignal),
  };
  if (extras.user) {
    status.user = {
      linux: {
        uid: String(extras.user.uid),
        gid: String(extras.user.gid),
        supplemental_groups: extras.user.groups.map(String),
      },
    };
  }
  return status;
}

/** Uid, gid and groups from a /proc/<pid>/status text (the effective ids). */
export function parseProcStatusIds(text: string): ProcessIds | undefined {
  const field = (name: string): string[] | undefined => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
    return m ? m[1].trim().split(/\s+/).filter(Boolean) : undefined;
  };
  const uid = field('Uid');
  const gid = field('Gid');
  if (!uid || !gid) return undefined;
  return {
    uid: Number(uid[1] ?? uid[0]),
    gid: Number(gid[1] ?? gid[0]),
    groups: (field('Groups') ?? []).map(Number),
  };
}

/** The verbose `info` of ContainerStatus: the engine's view, for people and tools. */
export function containerVerboseInfo(inspect: ContainerInspectInfo): Record<string, string> {
  return {
    info: JSON.stringify({
      id: inspect.Id,
      name: (inspect.Name ?? '').replace(/^\//, ''),
      pid: inspect.State?.Pid ?? 0,
      sandboxID: inspect.Config?.Labels?.[LABEL_SANDBOX_ID] ?? '',
      state: inspect.State,
      image: inspect.Config?.Image,
      user: inspect.Config?.User,
      entrypoint: inspect.Config?.Entrypoint,
      cmd: inspect.Config?.Cmd,
      env: inspect.Config?.Env,
      workingDir: inspect.Config?.WorkingDir,
      tty: inspect.Config?.Tty,
      hostConfig: inspect.HostConfig,
      mounts: inspect.Mounts,
      logPath: inspect.LogPath,
    }),
  };
}
