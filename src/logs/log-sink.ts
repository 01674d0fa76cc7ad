/**
 * The kubelet's log file of one container, owned by its pump: opened without following links,
 * appended to with back-pressure, swapped on ReopenContainerLog, and, for a path another runtime
 * left as a symlink (cri-dockerd links it to Docker's own `<id>-json.log`) or left missing
 * (dockershim's pods after a reboot), filled in a temp file beside it that replaces the path in one
 * rename once it holds the container's whole output so far.
 *
 * Nothing here ever opens the path in a way that follows a symlink (O_NOFOLLOW), and the path is
 * lstat'ed before it is renamed over: Docker's files belong to Docker.
 */
import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import { promisify } from 'util';

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const APPEND = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW;
const FILE_MODE = 0o640;
const EMPTY = Buffer.alloc(0);

/** What is at a log path now; `link` and `missing` are adopted (see the top), `other` is left alone. */
export type PathKind = 'file' | 'link' | 'missing' | 'other';

export async function pathKind(logPath: string): Promise<PathKind> {
  try {
    const st = await fsp.lstat(logPath);
    if (st.isSymbolicLink()) return 'link';
    return st.isFile() ? 'file' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}

/** Creates the file if it is not there (StartContainer); a symlink there is left for adoption. */
export async function createLogFile(logPath: string): Promise<void> {
  const fh = await fsp.open(logPath, APPEND, FILE_MODE).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') return undefined;
    throw err;
  });
  await fh?.close();
}

/** The temp file an adoption fills: hidden, and not `<log>.*`, which the kubelet takes for rotated logs. */
export function adoptionTemp(logPath: string): string {
  return path.join(path.dirname(logPath), `.${path.basename(logPath)}.docker-cri-adopt.tmp`);
}

interface Open {
  ws: fs.WriteStream;
  /** The stream's descriptor (closed with it), for fsync. */
  fd: number;
}

const openFd = promisify(fs.open);
const fsyncFd = promisify(fs.fsync);

/**
 * A plain descriptor, not a FileHandle: a stream over a FileHandle carries the handle's native
 * object and six closures of its own, and a node has a file open per container (heap snapshots at
 * 110 pods × 2: about 1.5 KiB a file). The stream closes the descriptor when it ends or fails.
 */
async function openStream(file: string, flags: number, highWaterMark: number): Promise<Open> {
  const fd = await openFd(file, flags, FILE_MODE);
  return { ws: fs.createWriteStream(file, { fd, highWaterMark }), fd };
}

/** Resolves once everything handed to `ws` is in the file (not yet synced): writes run in order. */
function written(ws: fs.WriteStream): Promise<void> {
  if (ws.writableLength === 0 || ws.destroyed) return Promise.resolve();
  return new Promise((r) => ws.write(EMPTY, () => r()));
}

/** Flushes and closes a file stream; resolves even if it failed (the error was already reported). */
function closeStream(ws: fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (ws.closed) return resolve();
    ws.once('close', () => resolve());
    ws.end();
  });
}

export interface SinkOptions {
  /** Bytes the file stream may buffer before write() asks the pump to wait. */
  highWaterMark?: number;
  /** Called with the first write error; the pump stops reading then. */
  onError?: (err: Error) => void;
}

export class LogSink {
  /** The first write error; nothing more is written after it. */
  error: Error | undefined;
  /** Bytes handed to the file, for metrics and benchmarks. */
  bytes = 0;
  /** close() was called: nothing more is written. */
  closed = false;
  /** While the file is swapped (reopen, adoption's rename), writes wait here, in order. */
  private held: Buffer[] | undefined;
  private swapping: Promise<void> | undefined;

  private constructor(
    readonly logPath: string,
    private file: Open,
    /** Set while the output goes to the adoption temp file: what the path held when we began. */
    private staged: 'link' | 'missing' | undefined,
    private readonly opts: SinkOptions,
  ) {
    this.watch(file.ws);
  }

  private get ws(): fs.WriteStream {
    return this.file.ws;
  }

  /**
   * Opens the log for appending. A path that is a symlink or missing is adopted when `adopt` is set:
   * output goes to a temp file until settle(). Throws for anything else that is not a regular file.
   */
  static async open(logPath: string, adopt: boolean, opts: SinkOptions = {}): Promise<LogSink> {
    const hwm = opts.highWaterMark ?? 1024 * 1024;
    const kind = await pathKind(logPath);
    if (kind === 'other') throw new Error(`${logPath} is not a regular file`);
    if (adopt && (kind === 'link' || kind === 'missing')) {
      const tmp = adoptionTemp(logPath);
      // A temp file left by a process that died while adopting: this adoption starts over.
      await fsp.rm(tmp, { force: true });
      return new LogSink(logPath, await openStream(tmp, APPEND | O_EXCL, hwm), kind, opts);
    }
    return new LogSink(logPath, await openStream(logPath, APPEND, hwm), undefined, opts);
  }

  /** True while the output goes to the adoption temp file. */
  get adopting(): boolean {
    return this.staged !== undefined;
  }

  /**
   * Appends `b`. A promise means the file is behind (or being swapped): the caller reads no more
   * until it resolves. No promise: write on.
   */
  write(b: Buffer): Promise<void> | undefined {
    if (b.length === 0 || this.error || this.closed) return undefined;
    this.bytes += b.length;
    if (this.held) {
      this.held.push(b);
      return this.swapping;
    }
    if (this.ws.write(b)) return undefined;
    return this.drained();
  }

  /**
   * The output so far has been written: an adoption's temp file replaces the path now, so that a
   * reader of the path sees either the old link or the whole output up to here. Later writes go on
   * in the same file. Nothing to do when not adopting.
   */
  settle(): Promise<void> {
    if (!this.staged || this.error) return Promise.resolve();
    return this.swap(async () => {
      await written(this.ws);
      // A stream that failed has closed its descriptor, which may already be another file's.
      if (this.ws.destroyed) throw this.error ?? new Error(`${this.logPath}: its log file was closed`);
      await fsyncFd(this.file.fd);
      // Renaming replaces only the name: the link goes, whatever it pointed to stays untouched.
      const now = await pathKind(this.logPath);
      if (now !== this.staged) {
        throw new Error(
          `${this.logPath} changed while its log was being adopted (was ${this.staged}, is ${now})`,
        );
      }
      await fsp.rename(adoptionTemp(this.logPath), this.logPath);
      this.staged = undefined;
    });
  }

  /**
   * ReopenContainerLog: what was written stays in the old file (renamed by the kubelet); on in a new
   * one. `between` runs once the old file is closed and before the new one is opened.
   */
  reopen(between: () => Promise<void> = async () => undefined): Promise<void> {
    if (this.staged) return this.settle();
    return this.swap(async () => {
      await closeStream(this.ws);
      await between();
      this.file = await openStream(this.logPath, APPEND, this.ws.writableHighWaterMark);
      this.watch(this.ws);
    });
  }

  /** Writes out what was handed over (an adoption is settled first) and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settle().catch((err: unknown) => this.fail(err as Error));
    while (this.swapping) await this.swapping.catch(() => undefined);
    await closeStream(this.ws);
    if (this.staged) await fsp.rm(adoptionTemp(this.logPath), { force: true }).catch(() => undefined);
  }

  private drained(): Promise<void> {
    const ws = this.ws;
    return new Promise<void>((r) => {
      ws.once('drain', r);
      ws.once('close', r);
    });
  }

  /** Runs `fn` with writes held; they go to whatever file is current afterwards, in order. */
  private swap(fn: () => Promise<void>): Promise<void> {
    if (this.swapping) return this.swapping.then(() => this.swap(fn));
    this.held = [];
    const run = (async () => {
      try {
        await fn();
      } catch (err) {
        this.fail(err as Error);
        throw err;
      } finally {
        // Synchronously from here on: no write slips in between the held ones and new ones.
        const held = this.held ?? [];
        this.held = undefined;
        this.swapping = undefined;
        if (!this.error) for (const b of held) this.ws.write(b);
      }
    })();
    this.swapping = run.catch(() => undefined);
    return run;
  }

  private watch(ws: fs.WriteStream): void {
    ws.on('error', (err) => this.fail(err));
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.opts.onError?.(err);
  }
}
