import type { Engine } from '../docker/engine';
import { logger } from '../logger';
import { killExec } from '../process/exec-kill';
import { wireDockerStream } from './docker-io';
import type { ExecTarget } from './requests';
import type { SessionIO } from './session-io';

const EXIT_POLL_MS = 50;
const EXIT_POLL_TRIES = 100;

/**
 * Runs one exec session: Docker exec create + hijacked start, streams wired to the client, resizes
 * forwarded, and the exit code (from exec inspect) reported as the protocol wants it. When the
 * client goes away before the command ends, the command's process tree is killed.
 */
export async function runExec(engine: Engine, target: ExecTarget, io: SessionIO): Promise<void> {
  const ctx = `container "${target.containerId}"`;
  try {
    const execId = await engine.createExec(
      target.containerId,
      {
        Cmd: target.cmd,
        AttachStdin: !!io.stdin,
        AttachStdout: !!io.stdout,
        AttachStderr: !!io.stderr,
        Tty: target.tty,
      },
      { context: ctx },
    );
    // The hijacked connection lives as long as the command: the stream client has no call timeout.
    const sock = await engine.startExec(execId, { stdin: !!io.stdin, tty: target.tty }, { context: ctx });
    if (target.tty) {
      io.onResize((size) => {
        engine
          .resizeExec(execId, { h: size.height, w: size.width }, { context: ctx })
          .catch((err: Error) =>
            logger.debug('exec resize failed', { id: target.containerId, error: err.message }),
          );
      });
    }
    const how = await wireDockerStream(sock, target.tty, io);
    if (how === 'aborted') {
      // Nobody is left to read the output or end stdin: left alone, the command would run forever.
      await killExec(engine, execId, ctx, 'client gone');
      return;
    }
    const code = await exitCode(engine, execId, ctx);
    await io.finish({ kind: 'exit', code, command: target.cmd });
  } catch (err) {
    await io.finish({ kind: 'error', message: (err as Error).message });
  }
}

/** Docker may still report the exec as running for a moment after its output closed. */
async function exitCode(engine: Engine, execId: string, ctx: string): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await engine.inspectExec(execId, { context: ctx });
    if (!info.Running || i >= EXIT_POLL_TRIES) return info.ExitCode ?? -1;
    await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
  }
}
