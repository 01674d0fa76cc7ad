import type { Engine, TerminalSize } from '../docker/engine';
import { logger } from '../logger';
import { killExec } from '../process/exec-kill';
import { wireDockerStream } from './docker-io';
import type { ExecTarget } from './requests';
import type { SessionIO } from './session-io';

const EXIT_POLL_MS = 50;
const EXIT_POLL_TRIES = 100;
/**
 * How long a terminal exec waits for the client's first size before it starts. kubectl sends it as
 * soon as the streams are up, usually before the exec is created; a client that never sends one
 * costs this once.
 */
export const FIRST_SIZE_WAIT_MS = 250;

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
    // A terminal gets its size before the command starts (Docker's ConsoleSize): resized after, a
    // command that reads it at once (`stty size`, a shell's prompt) sees 0x0.
    let phase: 'waiting' | 'starting' | 'running' = 'waiting';
    let late: TerminalSize | undefined;
    let resolveFirst: ((size: TerminalSize) => void) | undefined;
    const first = new Promise<TerminalSize>((r) => (resolveFirst = r));
    const resize = (size: TerminalSize): void => {
      engine
        .resizeExec(execId, size, { context: ctx })
        .catch((err: Error) =>
          logger.debug('exec resize failed', { id: target.containerId, error: err.message }),
        );
    };
    if (target.tty) {
      io.onResize((s) => {
        const size = { h: s.height, w: s.width };
        if (phase === 'waiting') resolveFirst?.(size);
        else if (phase === 'starting') late = size;
        else resize(size);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const consoleSize = target.tty
      ? await Promise.race([
          first,
          new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), FIRST_SIZE_WAIT_MS))),
        ])
      : undefined;
    clearTimeout(timer);
    phase = 'starting';
    // The hijacked connection lives as long as the command: the stream client has no call timeout.
    const sock = await engine.startExec(
      execId,
      { stdin: !!io.stdin, tty: target.tty, ...(consoleSize ? { consoleSize } : {}) },
      { context: ctx },
    );
    phase = 'running';
    // Engines before API 1.42 ignore ConsoleSize: the size is set again now, as before.
    const size = late ?? consoleSize;
    if (size) resize(size);
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
