import { execFile } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { promisify } from 'util';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import { failedPrecondition, invalidArgument, unimplemented } from '../grpc/status-error';
import type { CheckpointContainerRequest__Output } from '../generated/runtime/v1/CheckpointContainerRequest';
import type { CheckpointContainerResponse } from '../generated/runtime/v1/CheckpointContainerResponse';
import type { CheckpointPodRequest__Output } from '../generated/runtime/v1/CheckpointPodRequest';
import type { CheckpointPodResponse } from '../generated/runtime/v1/CheckpointPodResponse';
import type { RestorePodRequest__Output } from '../generated/runtime/v1/RestorePodRequest';
import type { RestorePodResponse } from '../generated/runtime/v1/RestorePodResponse';
import { logger } from '../logger';
import { findContainer } from '../lookup/find-container';
import { clampDelay } from '../concurrency/timer';
import { ProgramError, asFileError } from '../errors';

const run = promisify(execFile);

/** Whether an executable named `name` is on PATH (Docker's runc finds criu the same way). */
function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What this node lacks for Docker's checkpoint API (experimental mode and CRIU), in words for the
 * UNIMPLEMENTED message; empty when it has both.
 */
export async function checkpointLacks(deps: Deps): Promise<string[]> {
  const info = await deps.engine.info();
  const lacks: string[] = [];
  if (!info.ExperimentalBuild)
    lacks.push('the Docker engine runs without experimental mode (dockerd --experimental)');
  if (!onPath('criu')) lacks.push('CRIU is not installed (no criu on PATH; Debian package criu)');
  return lacks;
}

async function requireCheckpointApi(deps: Deps, method: string): Promise<void> {
  const lacks = await checkpointLacks(deps);
  if (lacks.length) {
    throw unimplemented(
      `${method} needs Docker's checkpoint API, which this node lacks: ${lacks.join('; ')}`,
    );
  }
}

/**
 * CheckpointContainer: Docker's checkpoint of a running container (it keeps running), written as a
 * tar archive at `location`, as the kubelet's checkpoint API expects. UNIMPLEMENTED, saying what is
 * missing, on engines without experimental mode or without CRIU.
 */
export function checkpointContainer(
  deps: Deps,
): UnaryImpl<CheckpointContainerRequest__Output, CheckpointContainerResponse> {
  return async (req) => {
    await requireCheckpointApi(deps, 'CheckpointContainer');
    if (!req.location || !path.isAbsolute(req.location)) {
      throw invalidArgument(`location "${req.location}" must be an absolute path for the checkpoint archive`);
    }
    const c = await findContainer(deps, req.container_id);
    if (!c.State?.Running)
      throw failedPrecondition(`container "${c.Id}" is not running: nothing to checkpoint`);
    const work = path.join(deps.config.rootDirectory, 'checkpoints', crypto.randomBytes(8).toString('hex'));
    await fs.promises.mkdir(work, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw asFileError(err, work, 'making the checkpoint directory');
    });
    try {
      const timeoutMs = Number(req.timeout) > 0 ? clampDelay(Number(req.timeout) * 1000) : undefined;
      await deps.engine.checkpointContainer(c.Id, 'cri', work, { timeoutMs });
      // tar is looked up on PATH as criu is (onPath above): the same environment for both.
      const tarArgs = ['-cf', req.location, '-C', path.join(work, 'cri'), '.'];
      await run('tar', tarArgs, { env: process.env }).catch((err: unknown) => {
        throw new ProgramError('tar', err);
      });
      logger.info('container checkpointed', { container_id: c.Id, location: req.location });
    } finally {
      await fs.promises.rm(work, { recursive: true, force: true });
    }
    return {};
  };
}

/**
 * CheckpointPod and RestorePod: a pod-wide checkpoint needs every selected container frozen at
 * once and restored into new containers, which Docker's per-container API does not offer. Both
 * answer UNIMPLEMENTED (the kubelet's cue to fall back), saying what the node lacks first.
 */
export function checkpointPod(deps: Deps): UnaryImpl<CheckpointPodRequest__Output, CheckpointPodResponse> {
  return async () => {
    await requireCheckpointApi(deps, 'CheckpointPod');
    throw unimplemented(
      'CheckpointPod is not implemented by docker-cri: Docker checkpoints one container at a time',
    );
  };
}

export function restorePod(deps: Deps): UnaryImpl<RestorePodRequest__Output, RestorePodResponse> {
  return async () => {
    await requireCheckpointApi(deps, 'RestorePod');
    throw unimplemented(
      'RestorePod is not implemented by docker-cri: Docker restores a checkpoint only into an existing container',
    );
  };
}
