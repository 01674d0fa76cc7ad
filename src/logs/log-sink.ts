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
  /** Undefined while suspended (and during a reopen's swap): the next write opens the path again. */
  private file: Open | undefined;
  private readonly hwm: number;

  private constructor(
    readonly logPath: string,
    file: Open,
    /** Set while the output goes to the adoption temp file: what the path held when we began. */
    private staged: 'link' | 'missing' | undefined,
    private readonly opts: SinkOptions,
  ) {
    this.file = file;
    this.hwm = file.ws.writableHighWaterMark;
    this.watch(file.ws);
  }

  /** The file is closed while its container writes nothing (see suspend()). */
  get suspended(): boolean {
    return this.file === undefined && !this.closed;
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
    if (!this.held && !this.file) void this.resume().catch(() => undefined);
    if (this.held) {
      this.held.push(b);
      return this.swapping;
    }
    const ws = this.file?.ws;
    if (!ws || ws.write(b)) return undefined;
    return this.drained(ws);
  }

  /**
   * Closes the file while the container writes nothing: a node's quiet containers hold no
   * descriptor or stream. What was written is in the file first. resume() (or the next write) opens
   * the path again, for appending, as ReopenContainerLog would. Not while adopting: the temp file's
   * rename needs it open.
   */
  suspend(): Promise<void> {
    if (this.staged || this.closed || this.error) return Promise.resolve();
    return this.swap(async () => {
      const open = this.file;
      if (!open) return;
      this.file = undefined;
      await closeStream(open.ws);
      if (open.ws.errored) throw open.ws.errored;
    });
  }

  /** Opens the path again after suspend(); nothing to do when it is open. */
  resume(): Promise<void> {
    if (this.closed || this.error) return Promise.resolve();
    return this.swap(async () => {
      if (this.file) return;
      this.file = await openStream(this.logPath, APPEND, this.hwm);
      this.watch(this.file.ws);
    });
  }

  /**
   * The output so far has been written: an adoption's temp file replaces the path now, so that a
   * reader of the path sees either the old link or the whole output up to here. Later writes go on
   * in the same file. Nothing to do when not adopting.
   */
  settle(): Promise<void> {
    if (!this.staged || this.error) return Promise.resolve();
    return this.swap(async () => {
      const open = this.file;
      // A stream that failed has closed its descriptor, which may already be another file's.
      if (!open || open.ws.destroyed)
        throw this.error ?? new Error(`${this.logPath}: its log file was closed`);
      await written(open.ws);
      if (open.ws.destroyed) throw this.error ?? new Error(`${this.logPath}: its log file was closed`);
      await fsyncFd(open.fd);
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
   * one. `between` runs once the old file is closed and before the new one is opened. A suspended
   * sink stays suspended, but the new file is made: the kubelet looks for it right after.
   */
  reopen(between: () => Promise<void> = async () => undefined): Promise<void> {
    if (this.staged) return this.settle();
    return this.swap(async () => {
      const open = this.file;
      this.file = undefined;
      if (open) await closeStream(open.ws);
      await between();
      if (!open) return createLogFile(this.logPath);
      this.file = await openStream(this.logPath, APPEND, this.hwm);
      this.watch(this.file.ws);
    });
  }

  /** Writes out what was handed over (an adoption is settled first) and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settle().catch((err: unknown) => this.fail(err as Error));
    while (this.swapping) await this.swapping.catch(() => undefined);
    if (this.file) await closeStream(this.file.ws);
    if (this.staged) await fsp.rm(adoptionTemp(this.logPath), { force: true }).catch(() => undefined);
  }

  private drained(ws: fs.WriteStream): Promise<void> {
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
        if (!this.error && held.length > 0) {
          const ws = this.file?.ws;
          if (ws) for (const b of held) ws.write(b);
          else if (!this.closed) this.holdAgain(held);
        }
      }
    })();
    this.swapping = run.catch(() => undefined);
    return run;
  }

  /** Writes handed over while the file was being closed (suspend): they open it again, in order. */
  private holdAgain(held: Buffer[]): void {
    void this.resume().catch(() => undefined);
    this.held?.unshift(...held);
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
