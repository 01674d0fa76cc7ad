/**
 * A container's output read from its json-file log directly (json-file-source.ts follows the files),
 * ended when Docker says the container has stopped: its wait answers then, without a poll, and
 * everything written before is in the file by that time.
 */
import { isNotFound } from '../docker/errors';
import { logger } from '../logger';
import type { ResumePoint } from './cri-format';
import { JsonFileSource } from './json-file-source';
import { JsonLogDecoder } from './json-log-decoder';
import {
  endOf,
  viewContainer,
  type LogBatch,
  type LogSource,
  type SourceContext,
  type SourceEnd,
} from './log-source';

export class JsonFileLogSource implements LogSource {
  readonly via = 'json-file';
  end: SourceEnd = 'broken';

  private constructor(
    private readonly ctx: SourceContext,
    private readonly file: JsonFileSource,
    private readonly decoder: JsonLogDecoder,
  ) {}

  /** Opens the files (throws when they cannot be read: the caller uses the log API). */
  static async open(
    ctx: SourceContext,
    jsonFile: string,
    at: ResumePoint | undefined,
  ): Promise<JsonFileLogSource> {
    const decoder = new JsonLogDecoder(undefined, at?.ts);
    const file = await JsonFileSource.open({ logPath: jsonFile, decoder, since: at?.ts });
    return new JsonFileLogSource(ctx, file, decoder);
  }

  stop(): void {
    this.file.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogBatch> {
    const abort = new AbortController();
    const onStop = (): void => this.stop();
    this.ctx.signal.addEventListener('abort', onStop, { once: true });
    if (this.ctx.signal.aborted) this.stop();
    const exit = this.watchExit(abort.signal);
    try {
      const how = yield* this.file.batches();
      this.end = how === 'stopped' ? 'stopped' : await endOf(this.ctx.docker, this.ctx.id);
    } catch (err) {
      logger.warn('reading container json-file log failed', {
        id: this.ctx.id,
        error: (err as Error).message,
      });
      this.end = 'broken';
    } finally {
      this.ctx.signal.removeEventListener('abort', onStop);
      abort.abort();
      await exit;
      if (this.decoder.malformed > 0) {
        logger.warn('container json-file log had lines that are not log records; skipped them', {
          id: this.ctx.id,
          lines: this.decoder.malformed,
        });
      }
    }
  }

  /** Tells the follower when the container has stopped; one that restarts is waited for again. */
  private async watchExit(signal: AbortSignal): Promise<void> {
    const { id, docker } = this.ctx;
    const pause = (): Promise<void> =>
      new Promise((r) => {
        const done = (): void => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          r();
        };
        const t = setTimeout(done, this.ctx.retryMs);
        signal.addEventListener('abort', done, { once: true });
      });
    while (!signal.aborted) {
      try {
        await docker.call(
          'container.wait',
          `container "${id}"`,
          // A long poll: no deadline, and our own abort (the source ended) is not a failed call.
          () =>
            docker.stream
              .getContainer(id)
              .wait({ condition: 'not-running', abortSignal: signal })
              .catch((err: unknown) => {
                if (!signal.aborted) throw err;
              }),
          2 ** 31 - 1,
        );
      } catch (err) {
        if (signal.aborted) return;
        if (!isNotFound(err)) {
          await pause();
          continue;
        }
      }
      if (signal.aborted) return;
      const view = await viewContainer(docker, id).catch(() => undefined);
      if (view === 'gone' || (view && !view.running)) {
        this.file.finish();
        return;
      }
      await pause();
    }
  }
}
