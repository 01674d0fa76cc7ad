import type { Engine } from '../docker/engine';
import { logger } from '../logger';
import { wireDockerStream } from './docker-io';
import type { AttachTarget } from './requests';
import type { SessionIO } from './session-io';

/**
 * Attaches the client to a container's main process. Whether Docker multiplexes the output follows
 * the container's own TTY setting, not the request's.
 */
export async function runAttach(engine: Engine, target: AttachTarget, io: SessionIO): Promise<void> {
  const ctx = `container "${target.containerId}"`;
  try {
    const info = await engine.inspectContainer(target.containerId, { context: ctx });
    if (!info.State.Running) {
      throw new Error(`container "${target.containerId}" is not running (state ${info.State.Status})`);
    }
    const sock = await engine.attachContainer(
      target.containerId,
      { stdin: !!io.stdin, stdout: !!io.stdout, stderr: !!io.stderr },
      { context: ctx },
    );
    if (info.Config.Tty) {
      io.onResize((size) => {
        engine
          .resizeContainer(target.containerId, { h: size.height, w: size.width }, { context: ctx })
          .catch((err: Error) =>
            logger.debug('attach resize failed', { id: target.containerId, error: err.message }),
          );
      });
    }
    const how = await wireDockerStream(sock, info.Config.Tty, io);
    if (how === 'aborted') return;
    await io.finish({ kind: 'exit', code: 0 });
  } catch (err) {
    await io.finish({ kind: 'error', message: (err as Error).message });
  }
}
