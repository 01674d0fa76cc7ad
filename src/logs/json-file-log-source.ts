/**
 * A container's output read from its json-file log directly (json-file-source.ts follows the files),
 * ended when the container index sees it stop (the pump passes that on: containerStopped()). Docker
 * has written and closed the file before the container's state says it stopped, and the index reads
 * that state by inspect, so everything is in the file by then. No Docker call per container is kept
 * open for this (a `docker wait` per pump cost a socket and its buffers per container).
 */
import { logger } from '../logger';
import type { ResumePoint } from './cri-format';
import { JsonFileSource } from './json-file-source';
import { JsonLogDecoder } from './json-log-decoder';
import {
  endOf,
  type IdleMark,
  type LogBatch,
  type LogSource,
  type SourceContext,
  type SourceEnd,
} from './log-source';

export class JsonFileLogSource implements LogSource {
  readonly via = 'json-file';
  end: SourceEnd = 'broken';
  idle: IdleMark | undefined;

  private constructor(
    private readonly ctx: SourceContext,
    private readonly file: JsonFileSource,
    private readonly decoder: JsonLogDecoder,
    private readonly jsonFile: string,
  ) {}

  /** Opens the files (throws when they cannot be read: the caller uses the log API). */
  static async open(
    ctx: SourceContext,
    jsonFile: string,
    at: ResumePoint | undefined,
    /** What the inspect that chose this source saw. */
    running: boolean,
  ): Promise<JsonFileLogSource> {
    const decoder = new JsonLogDecoder(undefined, at?.ts);
    const file = await JsonFileSource.open({
      logPath: jsonFile,
      decoder,
      since: at?.ts,
      idleAfterMs: ctx.idleAfterMs,
    });
    // Stopped already: nothing more will be written; read what is there. (A stop after the inspect
    // reaches this source through the pump: see LogPump.containerStopped.)
    if (!running) file.finish();
    return new JsonFileLogSource(ctx, file, decoder, jsonFile);
  }

  /**
   * Goes on where an idle source stopped (same file, same offset, a line start), without asking the
   * engine: the container was running then, and a stop since reaches the pump as containerStopped().
   * Undefined when the file is not the one left.
   */
  static async resume(ctx: SourceContext, mark: IdleMark): Promise<JsonFileLogSource | undefined> {
    const decoder = new JsonLogDecoder(undefined);
    const file = await JsonFileSource.reopen(
      { logPath: mark.file, decoder, idleAfterMs: ctx.idleAfterMs },
      { ino: mark.ino, off: mark.off },
    );
    return file && new JsonFileLogSource(ctx, file, decoder, mark.file);
  }

  stop(): void {
    this.file.stop();
  }

  containerStopped(): void {
    this.file.finish();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogBatch> {
    const onStop = (): void => this.stop();
    this.ctx.signal.addEventListener('abort', onStop, { once: true });
    if (this.ctx.signal.aborted) this.stop();
    try {
      const how = yield* this.file.batches();
      logger.debug('json-file log read', { id: this.ctx.id, how, ...this.file.endedAt });
      if (how === 'idle' && this.file.endedAt) {
        this.idle = { file: this.jsonFile, ...this.file.endedAt };
        this.end = 'idle';
      } else {
        this.end = how === 'stopped' ? 'stopped' : await endOf(this.ctx.engine, this.ctx.id);
      }
    } catch (err) {
      logger.warn('reading container json-file log failed', {
        id: this.ctx.id,
        error: (err as Error).message,
      });
      this.end = 'broken';
    } finally {
      this.ctx.signal.removeEventListener('abort', onStop);
      if (this.decoder.malformed > 0) {
        logger.warn('container json-file log had lines that are not log records; skipped them', {
          id: this.ctx.id,
          lines: this.decoder.malformed,
        });
      }
    }
  }
}
