/**
 * Where a pump reads a container's output: Docker's json-file log directly (json-file-log-source.ts)
 * or Docker's log API (api-log-source.ts). Both yield the same decoded messages in batches, and say
 * at the end why there are no more.
 */
import type { Engine } from '../docker/engine';
import { isNotFound } from '../docker/errors';
import { logger } from '../logger';
import type { ResumePoint } from './cri-format';
import type { DecodedSink } from './json-log-decoder';

/**
 * Decoded messages, handed over lazily: emit() feeds them to the encoder in place (no object per
 * line). Call it once, before asking the source for the next batch (its buffers are reused).
 */
export interface LogBatch {
  emit(to: DecodedSink): void;
  /** Everything written so far has been read: a pump adopting a log file may settle it now. */
  caughtUp?: boolean;
}

/**
 * Why a source has no more batches: `complete` (the container stopped and all its output was
 * read), `gone` (removed), `stopped` (stop() or the abort signal), `restarted` (it stopped and runs
 * again: open a new source at once), `broken` (the stream or file failed: try again later),
 * `unsure` (the output was read, but the engine could not say whether the container stopped: try
 * again later, the same way — the engine failed, not the source), `idle` (everything written was
 * read and the file has not changed for a while: the pump lets go of the source and its files until
 * the file changes; see `idle` on LogSource).
 */
export type SourceEnd = 'complete' | 'gone' | 'stopped' | 'restarted' | 'broken' | 'unsure' | 'idle';

/** Where a source that ended `idle` stopped: the file, which file it was (inode) and how far it was read. */
export interface IdleMark {
  file: string;
  ino: number;
  off: number;
}

export interface LogSource extends AsyncIterable<LogBatch> {
  readonly via: 'json-file' | 'api';
  /** Set once iteration has ended. */
  readonly end: SourceEnd;
  /** Ends the iteration after the batch being read. */
  stop(): void;
  /**
   * The container index saw the container stop (or go): a source that cannot see the end of the
   * output by itself ends once it has read everything written.
   */
  containerStopped(): void;
  /** Set when the source ended `idle`. */
  readonly idle?: IdleMark;
}

export interface ContainerView {
  running: boolean;
  tty: boolean;
  /** Docker's json-file path when the container logs to one we may read directly. */
  jsonFile?: string;
}

/** The engine calls a log source makes: an inspect to choose and end it, the log API to read. */
export type LogEngine = Pick<Engine, 'inspectContainer' | 'containerLogs'>;

/** What a source needs to know about the container, or 'gone'. */
export async function viewContainer(engine: LogEngine, id: string): Promise<ContainerView | 'gone'> {
  try {
    const info = await engine.inspectContainer(id);
    const logConfig = info.HostConfig?.LogConfig as
      { Type?: string; Config?: Record<string, string> } | undefined;
    // Compressed rotations (.gz) are left to Docker's reader.
    const direct = logConfig?.Type === 'json-file' && logConfig.Config?.compress !== 'true' && !!info.LogPath;
    return {
      running: info.State.Running || info.State.Restarting,
      tty: !!info.Config.Tty,
      jsonFile: direct ? info.LogPath : undefined,
    };
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw err;
  }
}

/** How a stopped container's source ends, looked up once its output is read. */
export async function endOf(engine: LogEngine, id: string): Promise<SourceEnd> {
  const view = await viewContainer(engine, id).catch(() => undefined);
  if (view === 'gone') return 'gone';
  if (!view) return 'unsure';
  return view.running ? 'restarted' : 'complete';
}

export interface SourceContext {
  id: string;
  engine: LogEngine;
  /** Aborted when the pump stops. */
  signal: AbortSignal;
  /** Delay between two tries of a failing Docker call. */
  retryMs: number;
  /**
   * A json-file source that has read everything and seen no change for this long ends `idle`
   * (undefined: never). The API source never does: its stream is the only way to see more.
   */
  idleAfterMs?: number;
}

export interface SourceOpeners {
  file: (
    ctx: SourceContext,
    path: string,
    since: ResumePoint | undefined,
    running: boolean,
  ) => Promise<LogSource>;
  api: (ctx: SourceContext, tty: boolean, since: ResumePoint | undefined) => LogSource;
  /** Goes on reading a json-file where an idle source stopped; undefined when it is not there any more. */
  resume?: (ctx: SourceContext, mark: IdleMark) => Promise<LogSource | undefined>;
}

/** Opens sources for one container in turn; a json-file that failed once is not tried again. */
export class SourceSelector {
  private fileFailed = false;

  constructor(
    private readonly ctx: SourceContext,
    /** 'api' always uses the log API (for comparisons and benchmarks). */
    private readonly prefer: 'auto' | 'api',
    private readonly open: SourceOpeners,
  ) {}

  /**
   * A source going on exactly where an `idle` one stopped, with no Docker call: the same file, grown
   * or not. Undefined when that is not possible (rotated, removed, unreadable): then next(), which
   * asks the engine and finds the place by time.
   */
  async resume(mark: IdleMark): Promise<LogSource | undefined> {
    if (this.fileFailed || !this.open.resume) return undefined;
    return this.open.resume(this.ctx, mark).catch(() => undefined);
  }

  /** A source reading from `since` on (undefined: the whole output), or 'gone'. */
  async next(since: ResumePoint | undefined, previous: LogSource | undefined): Promise<LogSource | 'gone'> {
    if (previous?.via === 'json-file' && previous.end === 'broken') {
      // Reading the file broke (it should not): Docker's API resumes from what was written.
      logger.warn('reading container json-file log failed; using the log API', { id: this.ctx.id });
      this.fileFailed = true;
    }
    const view = await viewContainer(this.ctx.engine, this.ctx.id);
    if (view === 'gone') return 'gone';
    if (this.prefer === 'auto' && !this.fileFailed && view.jsonFile) {
      try {
        return await this.open.file(this.ctx, view.jsonFile, since, view.running);
      } catch (err) {
        // Not visible from here (docker-cri in a container without Docker's data root) or not ours.
        logger.debug('container json-file log not readable; using the log API', {
          id: this.ctx.id,
          path: view.jsonFile,
          error: (err as Error).message,
        });
      }
    }
    return this.open.api(this.ctx, view.tty, since);
  }
}
