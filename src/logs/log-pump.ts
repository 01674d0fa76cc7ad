/**
 * One container's pump: Docker's log stream (stdout and stderr, with timestamps) → CRI records
 * appended to the kubelet's log file. Runs until the container's output is over (it exited and Docker
 * sent everything), the container is gone, or stop() is called; a broken stream of a running
 * container is opened again from the position reached.
 */
import fs from 'fs';
import type { Readable } from 'stream';
import type { DockerClient } from '../docker/client';
import { isNotFound } from '../docker/errors';
import { logger } from '../logger';
import { metrics } from '../metrics';
import { CriEncoder, sinceParam, type ResumePoint } from './cri-format';
import { DockerLogParser } from './docker-stream';
import { JsonFileSource } from './json-file-source';
import { JsonLogDecoder } from './json-log-decoder';
import { findResumePoint, writePos } from './log-resume';

/** A batch this large is written without waiting for the end of the I/O turn. */
const BATCH_BYTES = 256 * 1024;
/** How long encoded records may wait for more before they are written. */
const FLUSH_MS = 10;

export type PumpEnd = 'complete' | 'gone' | 'stopped' | 'failed';

export interface PumpOptions {
  id: string;
  logPath: string;
  /** The position side file (see log-resume.ts). */
  posFile: string;
  docker: DockerClient;
  /** Bytes the file stream may buffer before Docker's stream is paused. */
  highWaterMark?: number;
  /** Delay before opening a broken stream again. */
  retryMs?: number;
  /**
   * Where output is read: 'auto' reads a json-file log directly when it can (see json-file-source.ts)
   * and uses Docker's log API otherwise; 'api' always uses the API (for comparisons and benchmarks).
   */
  source?: 'auto' | 'api';
}

interface ContainerView {
  running: boolean;
  tty: boolean;
  /** Docker's json-file path when the container logs to one we may read directly. */
  jsonFile?: string;
}

function openAppend(file: string, highWaterMark: number): Promise<fs.WriteStream> {
  return new Promise((resolve, reject) => {
    const ws = fs.createWriteStream(file, { flags: 'a', highWaterMark });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      resolve(ws);
    });
  });
}

/** Flushes and closes a file stream; resolves even if it failed (the error was already reported). */
function closeStream(ws: fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (ws.closed) return resolve();
    ws.once('close', () => resolve());
    ws.end();
  });
}

export class LogPump {
  readonly id: string;
  readonly logPath: string;
  /** Resolves when the pump has ended and its file is closed. */
  readonly done: Promise<PumpEnd>;
  private readonly encoder = new CriEncoder();
  private ws: fs.WriteStream | undefined;
  private input: Readable | undefined;
  private parser: DockerLogParser | undefined;
  private file: JsonFileSource | undefined;
  /** Reading the json-file failed once: the API from then on. */
  private fileFailed = false;
  private stopped = false;
  private ended = false;
  private writeError: Error | undefined;
  private swapping: Promise<void> | undefined;
  /** While the file is being swapped, output waits in `held`. */
  private holding = false;
  private held: Buffer[] = [];
  private wake: (() => void) | undefined;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly hwm: number;
  /** Bytes handed to the file, for metrics and benchmarks. */
  bytesWritten = 0;
  /** Where output was last read from: Docker's json-file directly, or its log API. */
  via: 'json-file' | 'api' | undefined;

  constructor(private readonly opts: PumpOptions) {
    this.id = opts.id;
    this.logPath = opts.logPath;
    this.hwm = opts.highWaterMark ?? 1024 * 1024;
    this.ready = new Promise((r) => (this.markReady = r));
    this.done = this.run().finally(() => {
      this.ended = true;
      this.markReady();
    });
  }

  /** Stops reading, writes what was read, closes the file. Nothing read is lost. */
  async stop(): Promise<PumpEnd> {
    this.stopped = true;
    this.input?.destroy();
    this.file?.stop();
    this.wake?.();
    return this.done;
  }

  /**
   * ReopenContainerLog: closes the file (flushing it), then continues in a new file at the same path.
   * Output read meanwhile is held and goes to the new file.
   */
  async reopen(): Promise<void> {
    await this.ready;
    if (this.swapping) return this.swapping;
    if (!this.ws || this.ended) throw new Error(`log pump of container ${this.id} is not running`);
    const old = this.ws;
    // Taken before anything else is encoded: exactly what the old file will hold.
    const at = this.encoder.position();
    this.holding = true;
    const swap = (async () => {
      try {
        await closeStream(old);
        await writePos(this.opts.posFile, { at });
        this.ws = await openAppend(this.logPath, this.hwm);
        this.watch(this.ws);
      } finally {
        // Synchronously from here on: no output may slip in between the held batches and new ones.
        this.holding = false;
        const held = this.held;
        this.held = [];
        for (const b of held) this.ws?.write(b);
      }
    })();
    this.swapping = swap.finally(() => {
      if (this.swapping === guarded) this.swapping = undefined;
    });
    const guarded = this.swapping;
    return this.swapping;
  }

  position(): ResumePoint | undefined {
    return this.encoder.position();
  }

  private watch(ws: fs.WriteStream): void {
    ws.on('error', (err) => {
      this.writeError = err;
      logger.error('writing container log failed', { id: this.id, path: this.logPath, error: err.message });
      this.input?.destroy();
      this.file?.stop();
    });
  }

  private write(b: Buffer): boolean {
    this.bytesWritten += b.length;
    if (this.holding || !this.ws) {
      this.held.push(b);
      return false;
    }
    return this.ws.write(b);
  }

  private flush(): boolean {
    const b = this.encoder.take();
    if (!b) return true;
    this.observe();
    return this.write(b);
  }

  private reported: [number, number] = [0, 0];
  private lagSampledAt = 0;

  /** Metrics per batch, not per line: byte counts by stream, and a lag sample at most once a second. */
  private observe(): void {
    const [, out, err] = this.encoder.streamBytes;
    if (out > this.reported[0]) metrics.logPumpBytes('stdout', out - this.reported[0]);
    if (err > this.reported[1]) metrics.logPumpBytes('stderr', err - this.reported[1]);
    this.reported = [out, err];
    const now = Date.now();
    if (now - this.lagSampledAt < 1000) return;
    this.lagSampledAt = now;
    const latest = this.encoder.latestSeconds();
    if (latest !== undefined) metrics.logPumpLag(now / 1000 - latest);
  }

  private async run(): Promise<PumpEnd> {
    try {
      const resume = await findResumePoint(this.logPath, this.opts.posFile);
      this.encoder.resumeFrom(resume);
      this.ws = await openAppend(this.logPath, this.hwm);
      this.watch(this.ws);
    } catch (err) {
      logger.warn('cannot open container log file', { id: this.id, path: this.logPath, error: String(err) });
      return 'failed';
    }
    this.markReady();
    let end: PumpEnd;
    try {
      end = await this.follow();
    } catch (err) {
      logger.error('log pump failed', { id: this.id, error: (err as Error).stack ?? String(err) });
      end = 'failed';
    } finally {
      this.flush();
      while (this.swapping) await this.swapping;
      if (this.ws) await closeStream(this.ws);
    }
    if (this.writeError) end = 'failed';
    return end;
  }

  private async inspect(): Promise<ContainerView | 'gone'> {
    try {
      const info = await this.opts.docker.call('container.inspect', `container "${this.id}"`, (d) =>
        d.getContainer(this.id).inspect(),
      );
      const logConfig = info.HostConfig?.LogConfig as
        { Type?: string; Config?: Record<string, string> } | undefined;
      // Compressed rotations (.gz) are left to Docker's reader.
      const direct =
        logConfig?.Type === 'json-file' && logConfig.Config?.compress !== 'true' && !!info.LogPath;
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

  private async follow(): Promise<PumpEnd> {
    while (!this.stopped && !this.writeError) {
      let outcome: 'end' | 'broken';
      try {
        const info = await this.inspect();
        if (info === 'gone') return 'gone';
        const since = this.encoder.rewind();
        const file = await this.openFile(info, since?.ts);
        if (file) {
          try {
            outcome = await this.consumeFile(file);
          } catch (err) {
            // Reading the file broke (it should not): Docker's API resumes from what was written.
            logger.warn('reading container json-file log failed; using the log API', {
              id: this.id,
              error: (err as Error).message,
            });
            this.fileFailed = true;
            continue;
          }
          // The file path needs no retry delay: on to the end-of-output check below.
          if (outcome === 'end') {
            const after = await this.inspect().catch(() => undefined);
            if (after === 'gone' || (after && !after.running)) {
              this.encoder.finish();
              this.flush();
              return after === 'gone' ? 'gone' : 'complete';
            }
          }
          continue;
        }
        const stream = (await this.opts.docker.call('container.logs', `container "${this.id}"`, () =>
          this.opts.docker.stream.getContainer(this.id).logs({
            follow: true,
            stdout: true,
            stderr: true,
            timestamps: true,
            ...(since ? { since: sinceParam(since.ts) } : {}),
          }),
        )) as unknown as Readable;
        this.parser = new DockerLogParser(info.tty, (s, b, st, e) => this.encoder.message(s, b, st, e));
        outcome = await this.consume(stream, this.parser);
      } catch (err) {
        if (isNotFound(err)) return 'gone';
        if (this.stopped) break;
        logger.warn('container log stream failed; retrying', { id: this.id, error: (err as Error).message });
        outcome = 'broken';
      }
      if (this.stopped || this.writeError) break;
      if (outcome === 'end') {
        // Docker ends a follow stream when the container stops; if it still runs, the stream broke.
        const info = await this.inspect().catch(() => undefined);
        if (info === 'gone' || (info && !info.running)) {
          this.parser?.finish();
          this.encoder.finish();
          this.flush();
          return info === 'gone' ? 'gone' : 'complete';
        }
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, this.opts.retryMs ?? 1000);
      });
      this.wake = undefined;
    }
    return 'stopped';
  }

  private async openFile(
    info: ContainerView,
    since: string | undefined,
  ): Promise<JsonFileSource | undefined> {
    if (this.opts.source === 'api' || this.fileFailed || !info.jsonFile) return undefined;
    const decoder = new JsonLogDecoder(this.encoder, since);
    try {
      return await JsonFileSource.open({
        logPath: info.jsonFile,
        decoder,
        since,
        batch: () => (this.flush() ? undefined : this.writable()),
      });
    } catch (err) {
      // Not visible from here (docker-cri in a container without Docker's data root) or not ours to read.
      logger.debug('container json-file log not readable; using the log API', {
        id: this.id,
        path: info.jsonFile,
        error: (err as Error).message,
      });
      return undefined;
    }
  }

  /** Reads the json-file until the container has stopped and all of it is read (or stop()). */
  private async consumeFile(file: JsonFileSource): Promise<'end' | 'broken'> {
    this.file = file;
    this.via = 'json-file';
    const abort = new AbortController();
    const exit = this.watchExit(file, abort.signal);
    try {
      if (this.stopped) file.stop();
      return (await file.run()) === 'end' ? 'end' : 'broken';
    } finally {
      abort.abort();
      await exit;
      this.file = undefined;
      if (file.malformed > 0) {
        logger.warn('container json-file log had lines that are not log records; skipped them', {
          id: this.id,
          lines: file.malformed,
        });
      }
    }
  }

  /**
   * Tells the file source when the container has stopped: Docker's wait answers then, without a
   * poll. A container that restarts (restart policy) is waited for again.
   */
  private async watchExit(file: JsonFileSource, signal: AbortSignal): Promise<void> {
    const pause = (): Promise<void> =>
      new Promise((r) => {
        const done = (): void => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          r();
        };
        const t = setTimeout(done, this.opts.retryMs ?? 1000);
        signal.addEventListener('abort', done, { once: true });
      });
    while (!signal.aborted) {
      try {
        await this.opts.docker.call(
          'container.wait',
          `container "${this.id}"`,
          // A long poll: no deadline, and our own abort (the pump ended) is not a failed call.
          () =>
            this.opts.docker.stream
              .getContainer(this.id)
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
      const info = await this.inspect().catch(() => undefined);
      if (info === 'gone' || (info && !info.running)) {
        file.finish();
        return;
      }
      await pause();
    }
  }

  private consume(stream: Readable, parser: DockerLogParser): Promise<'end' | 'broken'> {
    this.input = stream;
    this.via = 'api';
    return new Promise((resolve) => {
      let settled = false;
      const settle = (how: 'end' | 'broken'): void => {
        if (settled) return;
        settled = true;
        this.input = undefined;
        resolve(how);
      };
      // Docker flushes every message, so a busy container arrives as many small reads. Records are
      // collected for FLUSH_MS (or until a batch is large) and written at once: a file write costs
      // far more than encoding a line, and a few ms of delay is nothing for a log reader.
      let scheduled = false;
      const flushNow = (): void => {
        scheduled = false;
        if (!this.flush() && !settled) {
          // Backpressure: the disk (or a swap) is behind; stop reading until it catches up.
          stream.pause();
          void this.writable().then(() => {
            if (!settled) stream.resume();
          });
        }
      };
      stream.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        if (this.encoder.pendingBytes() >= BATCH_BYTES) flushNow();
        else if (!scheduled) {
          scheduled = true;
          setTimeout(flushNow, FLUSH_MS);
        }
      });
      stream.once('end', () => settle('end'));
      stream.once('error', () => settle('broken'));
      stream.once('close', () => settle(stream.readableEnded ? 'end' : 'broken'));
      if (this.stopped) stream.destroy();
    });
  }

  private async writable(): Promise<void> {
    for (;;) {
      if (this.swapping) {
        await this.swapping.catch(() => undefined);
        continue;
      }
      const ws = this.ws;
      if (!ws || !ws.writableNeedDrain || ws.destroyed) return;
      await new Promise<void>((r) => {
        ws.once('drain', r);
        ws.once('close', r);
      });
    }
  }
}
