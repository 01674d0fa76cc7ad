/**
 * Owns every log pump. It follows the container index, not the CRI handlers: a container with a log
 * path that is running (or exited with output not yet written) gets a pump, whoever started it and
 * whenever this process started. That is also how a restarted shim picks up where it left off.
 */
import fsp from 'fs/promises';
import path from 'path';
import type { ContainerIndex, IndexChange, IndexedContainer } from '../docker/container-index';
import { failedPrecondition } from '../grpc/status-error';
import { logger } from '../logger';
import { metrics } from '../metrics';
import { isContainerLabels, LABEL_LOG_PATH } from '../translate/labels';
import { LogPump, type PumpEnd } from './log-pump';
import { createLogFile } from './log-sink';
import type { LogEngine } from './log-source';
import { readPos, writePos } from './log-resume';
import { PumpLocks } from './pump-lock';

const RUNNING_STATES = new Set(['running', 'paused', 'restarting']);
const EXITED_STATES = new Set(['exited', 'dead']);

/**
 * How long an answer that reports a container EXITED may wait for its log to be complete. A pump
 * drains an exited container's last output in milliseconds; the bound matters only when the disk or
 * engine is stuck: the answer then goes out rather than hang the kubelet's call.
 */
export const DRAIN_WAIT_MS = 10_000;

/**
 * What the caller of awaitComplete saw itself: the containers exited (its own inspect said so), and
 * the log path their labels name. The index may not know yet (its read after Docker's event is on
 * its way or failed), and the answer must not go out before the file is complete all the same.
 */
export interface SeenExited {
  exited: true;
  logPath?: string;
}

export interface LogManagerOptions {
  /** Where position files live (`<root>/logs/<id>.pos`). */
  rootDirectory: string;
  /** Directory of the cross-process pump locks; see pump-lock.ts. */
  lockDirectory?: string;
  /** Delay before trying again a container whose pump failed or is another process's. */
  retryMs?: number;
  /**
   * How often the locks of running pumps are looked at (and put back if removed: see pump-lock.ts).
   * Shorter than retryMs, so that a holder puts a removed lock back before another process's retry.
   */
  lockCheckMs?: number;
}

const isDir = (p: string): Promise<boolean> =>
  fsp.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * The kubelet makes the pod's log directory (and the container's below it; crictl users do not, and
 * containerd makes that one too). If the pod's is gone, so is the pod's interest in the log: a leaked
 * container must not bring back a directory that was cleaned up. True when the file's directory is there.
 */
async function logDirectory(logPath: string, create: boolean): Promise<boolean> {
  const dir = path.dirname(logPath);
  if (await isDir(dir)) return true;
  if (!create || !(await isDir(path.dirname(dir)))) return false;
  return fsp.mkdir(dir, { recursive: true, mode: 0o755 }).then(
    () => true,
    () => false,
  );
}

export class LogManager {
  private readonly pumps = new Map<string, LogPump>();
  private readonly pending = new Map<string, Promise<void>>();
  /** Pumps that ended and whose end is being recorded. */
  private readonly ending = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /**
   * Exited containers with nothing left to write (all output in their file, or no file to write):
   * answers about them neither wait nor read a file.
   */
  private readonly complete = new Set<string>();
  private readonly locks: PumpLocks;
  private readonly posDir: string;
  private stopped = false;
  private lockTimer: NodeJS.Timeout | undefined;
  private checkingLocks = false;
  private readonly onChange = (c: IndexChange): void => this.changed(c);
  private readonly onResync = (): void => this.scan();

  constructor(
    private readonly engine: LogEngine,
    private readonly index: ContainerIndex,
    private readonly opts: LogManagerOptions,
  ) {
    this.locks = new PumpLocks(opts.lockDirectory);
    this.posDir = path.join(opts.rootDirectory, 'logs');
  }

  /** Subscribes to the index and starts pumps for what it already holds. */
  start(): void {
    this.index.on('change', this.onChange);
    this.index.on('resync', this.onResync);
    this.scan();
    const retryMs = this.opts.retryMs ?? 5000;
    this.lockTimer = setInterval(
      () => void this.checkLocks(),
      this.opts.lockCheckMs ?? Math.max(10, Math.min(2000, retryMs / 2)),
    );
    this.lockTimer.unref();
  }

  /** Stops every pump after it has written all it read (graceful shutdown loses no line). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.index.off('change', this.onChange);
    this.index.off('resync', this.onResync);
    clearInterval(this.lockTimer);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await Promise.allSettled([...this.pending.values()]);
    await Promise.allSettled([...this.pumps.values()].map((p) => p.stop()));
    await Promise.allSettled([...this.ending.values()]);
  }

  /** The pump of a container, if this process runs one. */
  pump(id: string): LogPump | undefined {
    return this.pumps.get(id);
  }

  pumpCount(): number {
    return this.pumps.size;
  }

  /**
   * StartContainer: the kubelet's log file exists from now on, even before the container prints
   * anything (readers such as `kubectl logs -f` open it right away). The pump appends to it.
   */
  async prepare(id: string, logPath: string): Promise<void> {
    if (!path.isAbsolute(logPath) || !(await logDirectory(logPath, true))) return;
    this.complete.delete(id);
    await createLogFile(logPath).catch((err: unknown) => {
      logger.warn('cannot create container log file', { id, path: logPath, error: (err as Error).message });
    });
    // Taken before it runs: the docker-cri that starts a container writes its log, no other one.
    await this.locks.acquire(id).catch(() => undefined);
  }

  /**
   * Resolves once every byte the given containers wrote is in their log files, or at `deadline`
   * (ms since the epoch). Handlers call it before an answer reports a container EXITED: `kubectl
   * logs` of a finished Job and FallbackToLogsOnError read the file as soon as they see that state.
   * Ids of containers that still run, have no log path, or whose pump is another process's resolve
   * at once. "Still run" is the index's word unless `seen` says the caller saw them exited.
   */
  async awaitComplete(ids: Iterable<string>, deadline: number, seen?: SeenExited): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const id of ids) if (!this.complete.has(id)) waits.push(this.drained(id, seen));
    if (waits.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
    try {
      await Promise.race([Promise.all(waits), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits for the pump of an exited container to end, starting it if it has not started yet. With
   * `seen`, the caller's inspect is the word on the exit: an index that has not caught up (still
   * created or running, or without the entry) neither skips the wait nor leaves a pump following a
   * json-file that no one tells the output is over.
   */
  private async drained(id: string, seen?: SeenExited): Promise<void> {
    const c = this.index.get(id);
    const indexed = c && isContainerLabels(c.labels) ? c.labels[LABEL_LOG_PATH] : undefined;
    const logPath = indexed ?? seen?.logPath;
    if (!logPath || this.stopped) return;
    if (!seen && (!c || RUNNING_STATES.has(c.state))) return;
    if (seen) this.pumps.get(id)?.containerStopped();
    await this.want(id, logPath, false);
    // A pump the index started meanwhile, from its view that the container still runs.
    if (seen) this.pumps.get(id)?.containerStopped();
    await this.pumps.get(id)?.done;
    // The pump's end is recorded (position file, `complete`) right after done resolves.
    await this.ending.get(id);
  }

  /**
   * Closes the container's log file and continues in a new one at the same path. The caller has
   * checked that the container runs.
   */
  async reopen(id: string, logPath: string): Promise<void> {
    await this.want(id, logPath, true);
    const pump = this.pumps.get(id);
    if (!pump) {
      throw failedPrecondition(
        `container "${id}": its log ${logPath} cannot be written (see docker-cri's log for why)`,
      );
    }
    await pump.reopen();
  }

  /**
   * Puts back pump locks removed under us; a pump whose lock another process took meanwhile stops
   * (that process resumes from the file), and is looked at again later.
   */
  private async checkLocks(): Promise<void> {
    if (this.checkingLocks) return;
    this.checkingLocks = true;
    const lost = await this.locks
      .reassert()
      .catch((err: unknown) => {
        logger.warn('cannot check log pump locks', { error: (err as Error).message });
        return [];
      })
      .finally(() => (this.checkingLocks = false));
    for (const id of lost) {
      const pump = this.pumps.get(id);
      if (!pump || this.stopped) continue;
      logger.warn('log pump lock taken by another docker-cri process; stopping this pump', { id });
      void pump.stop().then(() => this.retryLater(id));
    }
  }

  private posFile(id: string): string {
    return path.join(this.posDir, `${id}.pos`);
  }

  private scan(): void {
    for (const c of this.index.list()) this.consider(c);
  }

  private changed(c: IndexChange): void {
    if (c.after) {
      this.consider(c.after);
      return;
    }
    clearTimeout(this.retries.get(c.id));
    this.retries.delete(c.id);
    this.complete.delete(c.id);
    // A running pump ends once it has read the last of the removed container's output.
    this.pumps.get(c.id)?.containerStopped();
    if (!this.pumps.has(c.id)) {
      void fsp.rm(this.posFile(c.id), { force: true });
      void this.locks.release(c.id);
    }
  }

  private consider(c: IndexedContainer): void {
    if (this.stopped || !isContainerLabels(c.labels)) return;
    const logPath = c.labels[LABEL_LOG_PATH];
    if (!logPath) return;
    const running = RUNNING_STATES.has(c.state);
    if (running) this.complete.delete(c.id);
    // The index is how a pump learns that the output is over (no Docker call per container waits).
    else this.pumps.get(c.id)?.containerStopped();
    if (!running && !EXITED_STATES.has(c.state)) return;
    void this.want(c.id, logPath, running);
  }

  /** Starts a pump unless one runs or is starting; resolves once that is settled. */
  private want(id: string, logPath: string, running: boolean): Promise<void> {
    if (this.pumps.has(id)) return Promise.resolve();
    const inFlight = this.pending.get(id);
    if (inFlight) return inFlight;
    const p = this.launch(id, logPath, running)
      .catch((err: unknown) => {
        logger.error('starting log pump failed', { id, error: (err as Error).stack ?? String(err) });
      })
      .finally(() => this.pending.delete(id));
    this.pending.set(id, p);
    return p;
  }

  private async launch(id: string, logPath: string, running: boolean): Promise<void> {
    if (!path.isAbsolute(logPath)) {
      logger.warn('container log path is not absolute; not writing it', { id, path: logPath });
      return;
    }
    if (!running && (await readPos(this.posFile(id))).done) {
      this.complete.add(id);
      return;
    }
    if (!(await logDirectory(logPath, running))) {
      if (running) logger.warn('container log directory does not exist', { id, path: logPath });
      // Nothing will be written for this exited container: answers need not wait, nor look again.
      else this.complete.add(id);
      return;
    }
    const lock = await this.locks.acquire(id);
    if (!lock.ok) {
      logger.debug('container log is written by another docker-cri process', { id, pid: lock.holder });
      this.retryLater(id);
      return;
    }
    if (this.stopped || this.pumps.has(id)) {
      await this.locks.release(id);
      return;
    }
    const pump = new LogPump({ id, logPath, posFile: this.posFile(id), engine: this.engine });
    this.pumps.set(id, pump);
    logger.debug('log pump started', { id, path: logPath });
    const counted = metrics.logPumpStarted();
    const ending = pump.done.then((end) => {
      counted();
      return this.ended(pump, end);
    });
    this.ending.set(id, ending);
    void ending.finally(() => {
      if (this.ending.get(id) === ending) this.ending.delete(id);
    });
  }

  private async ended(pump: LogPump, end: PumpEnd): Promise<void> {
    const id = pump.id;
    logger.debug('log pump ended', { id, end, bytes: pump.bytesWritten });
    if (end === 'complete') this.complete.add(id);
    try {
      if (end === 'complete') await writePos(this.posFile(id), { at: pump.position(), done: true });
      if (end === 'gone') await fsp.rm(this.posFile(id), { force: true });
    } catch (err) {
      logger.warn('cannot record log position', { id, error: (err as Error).message });
    }
    // Removed only now: a want() meanwhile finds this pump, not a missing position file to redo.
    if (this.pumps.get(id) === pump) this.pumps.delete(id);
    await this.locks.release(id);
    // Removed while finishing: changed() left the position file to this pump; nothing reads it now.
    if (!this.index.get(id) && !this.pumps.has(id)) {
      this.complete.delete(id);
      await fsp.rm(this.posFile(id), { force: true }).catch(() => undefined);
    }
    if (this.stopped) return;
    if (end === 'failed') this.retryLater(id);
    // Started again, or the index has not seen the exit yet: look later (a pump per lag would spin).
    const now = this.index.get(id);
    if (end === 'complete' && now && RUNNING_STATES.has(now.state)) {
      // The pump saw Docker report it stopped; an index that still says running read a list that
      // was not yet current (Docker sends `die` before its list shows the exit): read it again.
      void this.index.refresh(id, 'log-end').catch(() => undefined);
      this.retryLater(id);
    }
  }

  private retryLater(id: string): void {
    if (this.stopped || this.retries.has(id)) return;
    const t = setTimeout(() => {
      this.retries.delete(id);
      const c = this.index.get(id);
      if (c) this.consider(c);
    }, this.opts.retryMs ?? 5000);
    t.unref();
    this.retries.set(id, t);
  }
}
