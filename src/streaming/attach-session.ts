import type { Duplex } from 'stream';
import type { DockerClient } from '../docker/client';
import { logger } from '../logger';
import { wireDockerStream } from './docker-io';
import type { AttachTarget } from './requests';
import type { SessionIO } from './session-io';

/**
 * Attaches the client to a container's main process. Whether Docker multiplexes the output follows
 * the container's own TTY setting, not the request's.
 */
export async function runAttach(docker: DockerClient, target: AttachTarget, io: SessionIO): Promise<void> {
  const ctx = `container "${target.containerId}"`;
  try {
    const info = await docker.call('container.inspect', ctx, (d) =>
      d.getContainer(target.containerId).inspect(),
    );
    if (!info.State.Running) {
      throw new Error(`container "${target.containerId}" is not running (state ${info.State.Status})`);
    }
    const sock = (await docker.call('container.attach', ctx, () =>
      docker.stream.getContainer(target.containerId).attach({
        stream: true,
        stdin: !!io.stdin,
        stdout: !!io.stdout,
        stderr: !!io.stderr,
        hijack: true,
      }),
    )) as unknown as Duplex;
    if (info.Config.Tty) {
      io.onResize((size) => {
        docker
          .call('container.resize', ctx, (d) =>
            d.getContainer(target.containerId).resize({ h: size.height, w: size.width }),
          )
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
