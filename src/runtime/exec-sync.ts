import { Writable } from 'stream';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { ExecSyncRequest__Output } from '../generated/runtime/v1/ExecSyncRequest';
import type { ExecSyncResponse } from '../generated/runtime/v1/ExecSyncResponse';
import { deadlineExceeded, failedPrecondition, invalidArgument } from '../grpc/status-error';
import { MAX_MESSAGE_BYTES } from '../grpc/proto';
import { logger } from '../logger';
import { findContainer } from '../lookup/find-container';
import { killExec } from '../process/exec-kill';
import { DockerDemuxer } from '../streaming/docker-demux';
import { setClampedTimeout } from '../concurrency/timer';

/**
 * Per stream, as the kubelet's own limit; more is read and dropped. Both together are further held
 * to what one gRPC answer can carry (16 MiB less room for the envelope), stdout first.
 */
export const EXEC_OUTPUT_LIMIT = 16 * 1024 * 1024;
const RESPONSE_ROOM = MAX_MESSAGE_BYTES - 64 * 1024;

/** Keeps the first `limit` bytes written to it and discards the rest (so the process never blocks). */
class CappedSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const room = this.limit - this.size;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(part);
      this.size += part.length;
    }
    if (chunk.length > room) this.truncated = true;
    done();
  }

  content(max = this.limit): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > max ? all.subarray(0, max) : all;
  }
}

async function execInspect(deps: Deps, execId: string, what: string) {
  return deps.engine.inspectExec(execId, { context: what });
}

/**
 * ExecSync: the command runs in the container through Docker exec; stdout and stderr come back
 * apart, with the exit code. On timeout (or the client giving up) the process tree is killed, so
 * no process is left behind, and the call fails DEADLINE_EXCEEDED.
 */
export function execSync(deps: Deps): UnaryImpl<ExecSyncRequest__Output, ExecSyncResponse> {
  return async (req, ctx) => {
    if (!req.cmd?.length) throw invalidArgument('cmd is empty: a command is required');
    const timeoutSec = Number(req.timeout || 0);
    if (!Number.isSafeInteger(timeoutSec) || timeoutSec < 0) {
      throw invalidArgument(`timeout "${req.timeout}" is not a non-negative number of seconds`);
    }
    const c = await findContainer(deps, req.container_id);
    const what = `container "${c.Id}"`;
    if (!c.State?.Running) throw failedPrecondition(`${what} is not running: cannot exec in it`);

    const execId = await deps.engine.createExec(
      c.Id,
      { Cmd: [...req.cmd], AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false },
      { context: what },
    );
    const stream = await deps.engine.startExec(execId, { stdin: false, tty: false }, { context: what });
    const stdout = new CappedSink(EXEC_OUTPUT_LIMIT);
    const stderr = new CappedSink(EXEC_OUTPUT_LIMIT);
    const demuxer = new DockerDemuxer();
    stream.on('data', (chunk: Buffer) => {
      for (const part of demuxer.push(chunk)) (part.stream === 'stderr' ? stderr : stdout).write(part.data);
    });

    let expired: 'timeout' | 'cancelled' | undefined;
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', (err) => {
        logger.warn('exec stream failed', { id: c.Id, error: err.message });
        resolve();
      });
    });
    const expire = (why: 'timeout' | 'cancelled'): void => {
      if (expired) return;
      expired = why;
      void killExec(deps.engine, execId, what, why).finally(() => {
        // The stream ends once the process is gone; do not wait on a stuck engine beyond that.
        setTimeout(() => stream.destroy(), 5000).unref();
      });
    };
    const timer = timeoutSec > 0 ? setClampedTimeout(() => expire('timeout'), timeoutSec * 1000) : undefined;
    const onAbort = (): void => expire('cancelled');
    ctx.signal.addEventListener('abort', onAbort);
    try {
      await ended;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (expired) {
      throw deadlineExceeded(
        expired === 'timeout'
          ? `command "${req.cmd.join(' ')}" in ${what} timed out after ${timeoutSec}s and was killed`
          : `command "${req.cmd.join(' ')}" in ${what} was killed: the call was cancelled`,
      );
    }

    // The stream can end a moment before Docker records the exit code.
    let info = await execInspect(deps, execId, what);
    for (let i = 0; info.Running && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      info = await execInspect(deps, execId, what);
    }
    const out = stdout.content(Math.min(EXEC_OUTPUT_LIMIT, RESPONSE_ROOM));
    const err = stderr.content(Math.max(0, Math.min(EXEC_OUTPUT_LIMIT, RESPONSE_ROOM - out.length)));
    if (stdout.truncated || stderr.truncated) {
      logger.warn('exec output truncated', { id: c.Id, cmd: req.cmd[0], limitBytes: EXEC_OUTPUT_LIMIT });
    }
    return { stdout: out, stderr: err, exit_code: info.ExitCode ?? 0 };
  };
}
