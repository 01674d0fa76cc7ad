/**
 * Follows a container's json-file log (Docker's LogPath) directly, instead of asking dockerd to
 * stream it: the same messages at a fraction of the CPU (dockerd spends most of its work re-reading
 * and re-framing the file for the API).
 *
 * Order and completeness follow Docker's own reader: rotated files oldest first (`<path>.N` …
 * `<path>.1`), then the current file, then whatever is appended. Docker rotates by closing the file,
 * renaming `<path>.k` to `<path>.k+1` and `<path>` to `<path>.1`, and opening a new `<path>` (with
 * max-file 1 it truncates instead). A file is identified by its inode: when `<path>` is no longer
 * ours, ours is read to its end (the descriptor stays valid even if Docker deleted the file) and the
 * file that follows it, found by inode among the siblings, comes next. Appends are noticed through a
 * directory watch, with a poll as the fallback.
 *
 * The end of the output is not visible in the file: the owner calls finish() once the container has
 * stopped (Docker has written and closed the file by then), and run() ends after reading everything
 * that is there.
 */
import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import type { JsonLogDecoder } from './json-log-decoder';
import { openFile, siblings, skipBefore, type OpenFile } from './json-file-rotation';
import type { LogBatch } from './log-source';

/** Reads start small and grow while they come back full; an idle source holds no read buffer. */
const READ_MIN = 64 * 1024;
const READ_MAX = 512 * 1024;

export interface JsonFileOptions {
  /** Docker's LogPath for the container. */
  logPath: string;
  decoder: JsonLogDecoder;
  /** Skip what was stamped before this (the API's `since`); also used to skip old file parts. */
  since?: string;
  /**
   * How often to look at a watched file when no change was signalled (without a watch, a tenth of
   * it). Only a safety net: the watch signals every write, rename and new file, and the end of the
   * output comes from the container index, not from here. A node has a pump per container, so this
   * sets how often 220 idle pumps wake up.
   */
  pollMs?: number;
  /** Changes signalled within this window are read together. */
  batchMs?: number;
  /**
   * Once everything is read and the watched file has not changed for this long, batches() ends
   * `idle` (undefined: never). The owner then holds none of this source's files, buffers, watch or
   * generators for a container that writes nothing (only a watch of its own: idle-wait.ts), and
   * goes on with reopen() when the file changes.
   */
  idleAfterMs?: number;
}

const CAUGHT_UP: LogBatch = { caughtUp: true, emit: () => undefined };

export class JsonFileSource {
  private stopped = false;
  private over = false;
  private dirty = false;
  /** The last read found data: more is likely soon, so the next look is timed, not watched. */
  private busy = false;
  /** A watch could not be set up: poll only. */
  private unwatchable = false;
  private wake: (() => void) | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private buf: Buffer | undefined;
  private bufSize = READ_MIN;
  private readonly pollMs: number;
  private readonly batchMs: number;
  /** When the watch was last armed: how long the file has been quiet. */
  private quietSince = 0;

  private constructor(
    private readonly opts: JsonFileOptions,
    /** Files opened at the start and not yet read, oldest first; the first is being read. */
    private files: OpenFile[],
  ) {
    this.pollMs = opts.pollMs ?? 30_000;
    this.batchMs = opts.batchMs ?? 10;
  }

  /**
   * Opens the log and its rotated files; throws when the current file cannot be read (the caller
   * then uses Docker's log API).
   */
  static async open(opts: JsonFileOptions): Promise<JsonFileSource> {
    // Newest first: a rotation between two opens then shows a file twice (dropped by inode), never
    // skips one.
    const names = (await siblings(opts.logPath)) ?? [];
    if (!names.includes(opts.logPath)) names.push(opts.logPath);
    const opened: OpenFile[] = [];
    try {
      for (const name of [...names].reverse()) {
        try {
          opened.push(await openFile(name));
        } catch (err) {
          if (name === opts.logPath) throw err;
        }
      }
      opened.reverse();
      const files: OpenFile[] = [];
      for (const f of opened) {
        if (files.some((g) => g.ino === f.ino)) await f.fh.close();
        else files.push(f);
      }
      opened.length = 0;
      const source = new JsonFileSource(opts, files);
      try {
        await skipBefore(source.files, opts.since);
      } catch (err) {
        opened.push(...source.files);
        throw err;
      }
      return source;
    } catch (err) {
      await Promise.all(opened.map((f) => f.fh.close().catch(() => undefined)));
      throw err;
    }
  }

  /**
   * Goes on where a source that ended `idle` stopped: `<path>` opened again and read from `off` if
   * it is still the file of inode `ino` and has not shrunk. Undefined otherwise (rotated, truncated
   * or removed while nobody watched): the caller opens it anew and finds its place by time.
   */
  static async reopen(
    opts: JsonFileOptions,
    at: { ino: number; off: number },
  ): Promise<JsonFileSource | undefined> {
    const f = await openFile(opts.logPath).catch(() => undefined);
    if (!f) return undefined;
    const size = await f.fh.stat().then(
      (s) => s.size,
      () => -1,
    );
    if (f.ino !== at.ino || size < at.off) {
      await f.fh.close().catch(() => undefined);
      return undefined;
    }
    f.off = at.off;
    return new JsonFileSource(opts, [f]);
  }

  /** Where reading ended (the file's inode, how far), for tracing and for reopen(). */
  endedAt: { ino: number; off: number } | undefined;

  /** Lines skipped because they were not json-file records. */
  get malformed(): number {
    return this.opts.decoder.malformed;
  }

  /** The container has stopped: end once everything written is read. */
  finish(): void {
    this.over = true;
    this.wakeNow();
  }

  stop(): void {
    this.stopped = true;
    this.wakeNow();
  }

  /**
   * Batches of what is read, until finish() and the end of the files, or stop() (the generator's
   * value says which). Throws on a read error. Each batch must be emitted before the next is asked
   * for: it is a range of the read buffer.
   *
   * A busy container appends with one write per line, and a watch would wake us per line: while
   * output flows the file is read every batchMs instead, and the watch is armed only once it is idle.
   * With idleAfterMs, a file that stays as it was left that long ends the batches `idle` (endedAt
   * says where).
   */
  async *batches(): AsyncGenerator<LogBatch, 'end' | 'stopped' | 'idle'> {
    try {
      for (;;) {
        if (this.stopped) return 'stopped';
        const overBefore = this.over;
        this.dirty = false;
        const read = await this.readSome();
        if (read) {
          yield read;
          this.busy = true;
          continue;
        }
        const moved = await this.advance();
        if (moved === true) continue;
        if (moved) {
          yield moved;
          continue;
        }
        if (overBefore) return 'end';
        yield CAUGHT_UP;
        if (this.busy) {
          this.busy = false;
          this.unwatch();
          await this.sleep(this.batchMs);
        } else if (!this.watcher && !this.unwatchable) {
          // Armed, then one more look: what was written before the watch began is not missed.
          this.watch();
          this.quietSince = Date.now();
          this.dropBuffer();
        } else {
          // The watch is the signal and the poll a safety net; without a watch the poll is all there is.
          const idle = this.watcher ? this.pollMs : Math.min(this.pollMs / 10, 500);
          // Nothing to read: a node's many quiet pumps hold no read buffer while they wait.
          if (!this.dirty) this.dropBuffer();
          await this.sleep(this.dirty ? this.batchMs : this.nap(idle));
          // A safety-net look that finds the file as it was left goes back to sleep at the cost of
          // one stat: no read buffer, no read, no batch through the pump.
          // Dirty is looked at again after the stat: a change signalled during it found no sleep to
          // wake, and would otherwise wait out a whole poll.
          while (this.watcher && !this.dirty && (await this.unchanged()) && !this.dirty) {
            if (this.quietLongEnough()) return 'idle';
            await this.sleep(this.nap(idle));
          }
        }
      }
    } finally {
      if (this.files[0]) this.endedAt = { ino: this.files[0].ino, off: this.files[0].off };
      this.unwatch();
      clearTimeout(this.wakeTimer);
      await Promise.all(this.files.map((f) => f.fh.close().catch(() => undefined)));
      this.files = [];
    }
  }

  /** How long to sleep while watched: the poll, or less if the file is about to count as idle. */
  private nap(poll: number): number {
    const after = this.opts.idleAfterMs;
    if (after === undefined || !this.watcher) return poll;
    return Math.max(1, Math.min(poll, this.quietSince + after - Date.now()));
  }

  /**
   * Quiet for idleAfterMs, with nothing of a line held: what the owner resumes from is a line start
   * in the one file there is.
   */
  private quietLongEnough(): boolean {
    const after = this.opts.idleAfterMs;
    return (
      after !== undefined &&
      Date.now() - this.quietSince >= after &&
      this.files.length === 1 &&
      !this.opts.decoder.midLine
    );
  }

  private dropBuffer(): void {
    this.buf = undefined;
    this.bufSize = READ_MIN;
  }

  private get cur(): OpenFile {
    return this.files[0];
  }

  /** The next read of the current file as a batch; undefined at its end. */
  private async readSome(): Promise<LogBatch | undefined> {
    const f = this.cur;
    const buf = (this.buf ??= Buffer.allocUnsafe(this.bufSize));
    const { bytesRead } = await f.fh.read(buf, 0, buf.length, f.off);
    if (bytesRead === 0) return undefined;
    f.off += bytesRead;
    if (bytesRead === buf.length && this.bufSize < READ_MAX) {
      this.bufSize *= 2;
      this.buf = undefined;
    }
    const chunk = buf.subarray(0, bytesRead);
    const decoder = this.opts.decoder;
    return { emit: (to) => decoder.push(chunk, to) };
  }

  /**
   * At the end of the current file: is there more elsewhere (rotation) or again (truncation)? A
   * batch when the file had more after all (appended before it was renamed).
   */
  private async advance(): Promise<LogBatch | boolean> {
    const f = this.cur;
    if (this.files.length === 1) {
      const st = await fsp.stat(this.opts.logPath).catch(() => undefined);
      if (st && st.ino === f.ino) {
        if (st.size >= f.off) return false;
        // Truncated in place (max-file 1): what was not read yet is gone; go on from the start.
        f.off = 0;
        this.opts.decoder.reset();
        return true;
      }
      // Rotated away (or the container removed): anything appended before the rename is read first.
      const more = await this.readSome();
      if (more) return more;
      const next = await this.successor(f);
      if (!next) return false;
      this.files.push(next);
    }
    this.opts.decoder.reset();
    await f.fh.close();
    this.files.shift();
    return true;
  }

  /** The file that came after `f`, by inode among `<path>` and its rotated siblings. */
  private async successor(f: OpenFile): Promise<OpenFile | undefined> {
    const names = await siblings(this.opts.logPath);
    if (!names) return undefined;
    const inos: number[] = [];
    for (const n of names)
      inos.push(
        await fsp.stat(n).then(
          (s) => s.ino,
          () => -1,
        ),
      );
    const at = inos.indexOf(f.ino);
    // Not listed: deleted (rotated past max-file), and then every file left is newer; or renamed
    // while we listed, and then look again later.
    if (at < 0 && (await f.fh.stat()).nlink > 0) return undefined;
    const i = at + 1;
    if (i >= names.length || inos[i] < 0) return undefined;
    const next = await openFile(names[i]).catch(() => undefined);
    if (next && next.ino === inos[i]) return next;
    await next?.fh.close();
    return undefined;
  }

  /** Whether the log path is still the file being read, read to its end (stopped or over: no). */
  private async unchanged(): Promise<boolean> {
    if (this.stopped || this.over || this.files.length !== 1) return false;
    const f = this.cur;
    const st = await fsp.stat(this.opts.logPath).catch(() => undefined);
    return st !== undefined && st.ino === f.ino && st.size === f.off;
  }

  private watch(): void {
    try {
      // The directory, not the file: it also sees the rename and the new file of a rotation.
      this.watcher = fs.watch(path.dirname(this.opts.logPath), { persistent: false }, () => this.changed());
      this.watcher.on('error', () => {
        this.unwatchable = true;
        this.unwatch();
      });
    } catch {
      // No inotify (or no directory): the poll alone.
      this.unwatchable = true;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private changed(): void {
    this.dirty = true;
    if (!this.wake || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeNow();
    }, this.batchMs);
  }

  private wakeNow(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits ms, or less when a watched change, finish() or stop() comes first. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped || this.over) return Promise.resolve();
    return new Promise((resolve) => {
      const poll = setTimeout(() => this.wakeNow(), ms);
      this.wake = () => {
        clearTimeout(poll);
        resolve();
      };
    });
  }
}
