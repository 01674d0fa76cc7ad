/**
 * A container's output through Docker's log API (`follow`, `timestamps`, `since`): the source for
 * any log driver Docker can read back, and the fallback when the json-file is not readable here.
 *
 * Docker flushes every message, so a busy container arrives as many small reads. They are collected
 * for BATCH_MS (or until a batch is large) and handed on as one batch: a file write costs far more
 * than encoding a line, and a few ms of delay is nothing for a log reader.
 */
import type { Readable } from 'stream';
import { isNotFound, isNotImplemented } from '../docker/errors';
import { logger } from '../logger';
import { sinceParam, type ResumePoint } from './cri-format';
import { DockerLogParser, type MessageSink } from './docker-stream';
import type { DecodedSink } from './json-log-decoder';
import { endOf, type LogBatch, type LogSource, type SourceContext, type SourceEnd } from './log-source';

/** A batch this large is handed on without waiting for more. */
const BATCH_BYTES = 256 * 1024;
/** How long read chunks may wait for more before they are handed on. */
const BATCH_MS = 10;
/** Bytes read ahead of the pump before Docker's stream is paused (back-pressure). */
const READ_AHEAD = 1024 * 1024;

const toEncoder =
  (to: DecodedSink): MessageSink =>
  (s, b, st, e) =>
    to.message(s, b, st, e);

export class ApiLogSource implements LogSource {
  readonly via = 'api';
  end: SourceEnd = 'broken';
  private readonly parser: DockerLogParser;
  private stream: Readable | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: SourceContext,
    tty: boolean,
    private readonly since: ResumePoint | undefined,
  ) {
    this.parser = new DockerLogParser(tty);
  }

  stop(): void {
    this.stopped = true;
    this.stream?.destroy();
  }

  /** Docker ends a followed log stream itself once the container has stopped. */
  containerStopped(): void {}

  private async open(): Promise<Readable | undefined> {
    const { id, engine } = this.ctx;
    try {
      return await engine.containerLogs(id, {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        ...(this.since ? { since: sinceParam(this.since.ts) } : {}),
      });
    } catch (err) {
      if (isNotFound(err)) this.end = 'gone';
      // A log driver that cannot be read back (`none`, or a remote one without its cache): there is
      // nothing to copy, now or ever, so the pump is done rather than retrying every second (and
      // every answer that reports the container EXITED would wait out its drain deadline).
      else if (isNotImplemented(err)) this.end = 'complete';
      else logger.warn('container log stream failed; retrying', { id, error: (err as Error).message });
      return undefined;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogBatch> {
    const onAbort = (): void => this.stop();
    this.ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.ctx.signal.aborted) this.stopped = true;
      const stream = this.stopped ? undefined : await this.open();
      if (!stream) return;
      this.stream = stream;
      if (this.stopped) stream.destroy();
      yield* this.batches(stream);
    } finally {
      this.ctx.signal.removeEventListener('abort', onAbort);
      this.stream?.destroy();
    }
  }

  private async *batches(stream: Readable): AsyncGenerator<LogBatch> {
    const queue: Buffer[] = [];
    let queued = 0;
    let over: 'end' | 'broken' | undefined;
    let wake: (() => void) | undefined;
    const signal = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    stream.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= READ_AHEAD) stream.pause();
      // The first chunk starts a batch's collection window; a large batch ends it early.
      if (queue.length === 1 || queued >= BATCH_BYTES) signal();
    });
    const settle = (how: 'end' | 'broken'): void => {
      over ??= how;
      signal();
    };
    stream.once('end', () => settle('end'));
    stream.once('error', () => settle('broken'));
    stream.once('close', () => settle(stream.readableEnded ? 'end' : 'broken'));
    const sleep = (ms: number): Promise<void> =>
      new Promise((r) => {
        const t = setTimeout(signal, ms);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    let quiet = false;
    for (;;) {
      if (queue.length === 0 && !over) {
        if (!quiet) {
          // Nothing more for now: the output so far is read (as far as this API can tell).
          quiet = true;
          yield { caughtUp: true, emit: () => undefined };
          // More may have come while the pump settled its file.
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        if (queued < BATCH_BYTES && !over) await sleep(BATCH_MS);
      }
      if (queue.length > 0) {
        quiet = false;
        const chunks = queue.splice(0);
        queued = 0;
        if (stream.isPaused() && !over) stream.resume();
        yield { emit: (to) => chunks.forEach((c) => this.parser.push(c, toEncoder(to))) };
        continue;
      }
      break;
    }
    if (this.stopped) this.end = 'stopped';
    else if (over === 'end') {
      // Docker ends a follow stream when the container stops; if it still runs, the stream broke.
      this.end = await endOf(this.ctx.engine, this.ctx.id);
      if (this.end === 'restarted') this.end = 'broken';
      // The output is over: a TTY line still being read is complete as it is.
      if (this.end === 'complete' || this.end === 'gone')
        yield { emit: (to) => this.parser.finish(toEncoder(to)) };
    }
  }
}
