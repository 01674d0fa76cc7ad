/**
 * One container's pump: its output, read from a LogSource (json-file or log API), encoded as CRI
 * records, appended to a LogSink (the kubelet's file). It runs until the output is over (the
 * container stopped and everything was read), the container is gone, or stop() is called; a source
 * that broke is opened again from the position reached.
 *
 * Where it starts is read from disk once (log-resume.ts) and handed to the encoder as a value; from
 * then on the encoder's position is the only record of progress. A path another runtime left as a
 * symlink, or none at all, is adopted: the whole output goes into a new file (see log-sink.ts).
 *
 * A container that writes nothing for a while costs its pump less: a json-file source that has read
 * everything and seen no change for idleAfterMs ends `idle`, the pump closes the file it writes,
 * and it dozes on a watch of Docker's file (idle-wait.ts), holding no source, reader generators,
 * write stream or descriptors (220 idle pumps: 6.7 KiB of heap a pump dozing against 9.2 awake,
 * and two descriptors fewer). When the file changes it goes on from the same file and offset
 * without a Docker call, or, if the file was rotated meanwhile, asks the engine and finds its place
 * by time as after any other end.
 */
import { logger } from '../logger';
import { ApiLogSource } from './api-log-source';
import { CriEncoder, type ResumePoint } from './cri-format';
import { JsonFileLogSource } from './json-file-log-source';
import { findResumePoint, writePos } from './log-resume';
import { LogSink, pathKind } from './log-sink';
import { waitForChange } from './idle-wait';
import {
  SourceSelector,
  type IdleMark,
  type LogEngine,
  type LogSource,
  type SourceEnd,
  type SourceOpeners,
} from './log-source';
import { PumpMetrics } from './pump-metrics';

export type PumpEnd = 'complete' | 'gone' | 'stopped' | 'failed';

export interface PumpOptions {
  id: string;
  logPath: string;
  /** The position side file (see log-resume.ts). */
  posFile: string;
  /** Where the container's output and state are read (Engine's inspect and log stream). */
  engine: LogEngine;
  /** Bytes the file may buffer before reading waits. */
  highWaterMark?: number;
  /** Delay before opening a broken source again. */
  retryMs?: number;
  /**
   * Where output is read: 'auto' reads a json-file log directly when it can and uses Docker's log
   * API otherwise; 'api' always uses the API (for comparisons and benchmarks).
   */
  source?: 'auto' | 'api';
  /** How long a json-file source waits with nothing new before the pump dozes (Infinity: never). */
  idleAfterMs?: number;
  /** While dozing, how often Docker's file is looked at in case its watch missed a change. */
  idlePollMs?: number;
}

/** How sources are opened: one set for every pump (a node has one per container). */
const OPENERS: SourceOpeners = {
  file: (c, file, at, running) => JsonFileLogSource.open(c, file, at, running),
  api: (c, tty, at) => new ApiLogSource(c, tty, at),
  resume: (c, mark) => JsonFileLogSource.resume(c, mark),
};

/** A container quiet this long lets go of its pump's files and generators (see the top). */
export const IDLE_AFTER_MS = 30_000;

/**
 * The pump proper: each batch of `source` encoded and appended to `sink`, reading no further while
 * the sink is behind. An adopted file is settled whenever the source has caught up.
 */
export async function pumpBatches(
  source: LogSource,
  encoder: CriEncoder,
  sink: LogSink,
  observe: () => void = () => undefined,
): Promise<SourceEnd> {
  for await (const batch of source) {
    const records = encoder.encode(batch);
    if (records) {
      observe();
      const behind = sink.write(records);
      if (behind) await behind;
    }
    if (sink.error) break;
    if (batch.caughtUp) {
      encoder.release();
      if (sink.adopting) await sink.settle();
    }
  }
  return source.end;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class LogPump {
  readonly id: string;
  readonly logPath: string;
  /** Resolves when the pump has ended and its file is closed. */
  readonly done: Promise<PumpEnd>;
  private readonly encoder = new CriEncoder();
  private readonly metrics = new PumpMetrics(this.encoder);
  private readonly stopper = new AbortController();
  private readonly selector: SourceSelector;
  private readonly opened: Promise<LogSink | undefined>;
  private readonly retryMs: number;
  // The pump's mutable state: the source being read (the last one, once ended) and the file.
  private source: LogSource | undefined;
  private sink: LogSink | undefined;
  private lastVia: 'json-file' | 'api' | undefined;
  /** How many times the index has said the container stopped (see containerStopped). */
  private stops = 0;
  /** Ends the doze early (set while dozing). */
  private wakeDozing: (() => void) | undefined;
  /** Times the pump dozed off, for tests and tracing. */
  dozes = 0;

  constructor(private readonly opts: PumpOptions) {
    this.id = opts.id;
    this.logPath = opts.logPath;
    this.retryMs = opts.retryMs ?? 1000;
    const ctx = {
      id: opts.id,
      engine: opts.engine,
      signal: this.stopper.signal,
      retryMs: this.retryMs,
      idleAfterMs: opts.idleAfterMs ?? IDLE_AFTER_MS,
    };
    this.selector = new SourceSelector(ctx, opts.source ?? 'auto', OPENERS);
    this.opened = this.open();
    this.done = this.run();
  }

  /** Where output was last read from: Docker's json-file directly, or its log API. */
  get via(): 'json-file' | 'api' | undefined {
    return this.source?.via ?? this.lastVia;
  }

  /** The pump holds no source or open file now, waiting for its container to write. */
  get dozing(): boolean {
    return this.wakeDozing !== undefined;
  }

  /** Bytes handed to the file, for metrics and benchmarks. */
  get bytesWritten(): number {
    return this.sink?.bytes ?? 0;
  }

  position(): ResumePoint | undefined {
    return this.encoder.position();
  }

  /**
   * The container index saw the container stop or go: the source ends once it has read what was
   * written (a source opened meanwhile is told as soon as it is set: see follow()).
   */
  containerStopped(): void {
    this.stops++;
    this.source?.containerStopped();
    this.wakeDozing?.();
  }

  /** Stops reading, writes what was read, closes the file. Nothing read is lost. */
  stop(): Promise<PumpEnd> {
    this.stopper.abort();
    this.source?.stop();
    return this.done;
  }

  /**
   * ReopenContainerLog: closes the file, then continues in a new one at the same path. Output read
   * meanwhile waits and goes to the new file.
   */
  async reopen(): Promise<void> {
    const sink = await this.opened;
    if (!sink || sink.closed) throw new Error(`log pump of container ${this.id} is not running`);
    // Taken before anything else is handed over: exactly what the old file holds.
    const at = this.encoder.position();
    await sink.reopen(() => writePos(this.opts.posFile, { at }));
  }

  private async open(): Promise<LogSink | undefined> {
    try {
      const kind = await pathKind(this.logPath);
      // Another runtime's link (cri-dockerd's, to Docker's own file) holds none of our records.
      this.encoder.resumeFrom(
        kind === 'link' ? undefined : await findResumePoint(this.logPath, this.opts.posFile),
      );
      return await LogSink.open(this.logPath, kind !== 'file', {
        highWaterMark: this.opts.highWaterMark,
        onError: (err) => {
          logger.error('writing container log failed', {
            id: this.id,
            path: this.logPath,
            error: err.message,
          });
          this.source?.stop();
        },
      });
    } catch (err) {
      logger.warn('cannot open container log file', { id: this.id, path: this.logPath, error: String(err) });
      return undefined;
    }
  }

  private async run(): Promise<PumpEnd> {
    const sink = await this.opened;
    if (!sink) return 'failed';
    this.sink = sink;
    let end: PumpEnd;
    try {
      end = await this.follow(sink);
    } catch (err) {
      logger.error('log pump failed', { id: this.id, error: (err as Error).stack ?? String(err) });
      end = 'failed';
    } finally {
      await sink.close();
    }
    return sink.error ? 'failed' : end;
  }

  private async follow(sink: LogSink): Promise<PumpEnd> {
    const signal = this.stopper.signal;
    /** Where the last source went idle, and the stops told before it did. */
    let idle: { mark: IdleMark; stops: number } | undefined;
    while (!signal.aborted && !sink.error) {
      let next: LogSource | 'gone' | undefined;
      let stops = this.stops;
      let from = this.encoder.position();
      if (idle) {
        // Exactly where the idle source stopped: nothing to skip, and a stop told since is passed on.
        next = await this.selector.resume(idle.mark);
        stops = idle.stops;
        idle = undefined;
      }
      if (!next) {
        stops = this.stops;
        from = this.encoder.rewind();
        try {
          next = await this.selector.next(from, this.source);
        } catch (err) {
          if (signal.aborted) break;
          logger.warn('container log source failed; retrying', {
            id: this.id,
            error: (err as Error).message,
          });
          await sleep(this.retryMs, signal);
          continue;
        }
      }
      if (next === 'gone') return 'gone';
      this.source = next;
      this.lastVia = next.via;
      // Told of a stop while the source was chosen: its inspect may have seen the container running.
      if (this.stops !== stops) next.containerStopped();
      // Each source a pump goes through, for tracing a log that came out short or doubled.
      logger.debug('log source opened', { id: this.id, via: next.via, from, stops: this.stops });
      const end = await pumpBatches(next, this.encoder, sink, () => this.metrics.observe());
      logger.debug('log source ended', {
        id: this.id,
        via: next.via,
        end,
        records: this.encoder.records,
        at: this.encoder.position(),
      });
      if (end === 'complete' || end === 'gone' || end === 'stopped') return end;
      if (end === 'broken' || end === 'unsure') await sleep(this.retryMs, signal);
      if (end === 'idle' && next.idle) idle = { mark: next.idle, stops: this.stops };
      // Nothing of the ended source is kept while the pump waits or dozes.
      next = undefined;
      if (idle) await this.doze(sink, idle.mark);
    }
    return 'stopped';
  }

  /**
   * Lets go of the source and closes the file until Docker's file changes, the container stops or
   * the pump is stopped. A stop told meanwhile reaches the next source (follow()).
   */
  private async doze(sink: LogSink, mark: IdleMark): Promise<void> {
    const stops = this.stops;
    this.source = undefined;
    await sink.suspend();
    if (sink.error || this.stopper.signal.aborted) return;
    const wait = waitForChange(mark, this.opts.idlePollMs ?? 30_000, this.stopper.signal);
    this.wakeDozing = wait.wake;
    this.dozes++;
    logger.debug('log pump dozing', { id: this.id, file: mark.file, off: mark.off });
    // A stop told while the file was being closed found nothing to wake.
    if (this.stops !== stops) wait.wake();
    await wait.done;
    this.wakeDozing = undefined;
    if (!this.stopper.signal.aborted) await sink.resume();
  }
}
