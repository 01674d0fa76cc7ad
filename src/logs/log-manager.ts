/**
 * Owns every log pump. It follows the container index, not the CRI handlers: a container with a log
 * path that is running (or exited with output not yet written) gets a pump, whoever started it and
 * whenever this process started. That is also how a restarted shim picks up where it left off.
 */
import fsp from 'fs/promises';
import path from 'path';
import type { DockerClient } from '../docker/client';
import type { ContainerIndex, IndexChange, IndexedContainer } from '../docker/container-index';
import { failedPrecondition } from '../grpc/status-error';
import { logger } from '../logger';
import { metrics } from '../metrics';
import { isContainerLabels, LABEL_LOG_PATH } from '../translate/labels';
import { LogPump, type PumpEnd } from './log-pump';
import { readPos, writePos } from './log-resume';
import { PumpLocks } from './pump-lock';

const RUNNING_STATES = new Set(['running', 'paused', 'restarting']);
const EXITED_STATES = new Set(['exited', 'dead']);

export interface LogManagerOptions {
  /** Where position files live (`<root>/logs/<id>.pos`). */
  rootDirectory: string;
  /** Directory of the cross-process pump locks; see pump-lock.ts. */
  lockDirectory?: string;
  /** Delay before trying again a container whose pump failed or is another process's. */
  retryMs?: number;
}

export class LogManager {
  private readonly pumps = new Map<string, LogPump>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly locks: PumpLocks;
  private readonly posDir: string;
  private stopped = false;
  private readonly onChange = (c: IndexChange): void => this.changed(c);
  private readonly onResync = (): void => this.scan();

  constructor(
    private readonly docker: DockerClient,
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
  }

  /** Stops every pump after it has written all it read (graceful shutdown loses no line). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.index.off('change', this.onChange);
    this.index.off('resync', this.onResync);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await Promise.allSettled([...this.pending.values()]);
    await Promise.allSettled([...this.pumps.values()].map((p) => p.stop()));
  }

  /** The pump of a container, if this process runs one. */
  pump(id: string): LogPump | undefined {
    return this.pumps.get(id);
  }

  pumpCount(): number {
    return this.pumps.size;
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
    // A running pump ends by itself once Docker has sent the last of the removed container's output.
    if (!this.pumps.has(c.id)) void fsp.rm(this.posFile(c.id), { force: true });
  }

  private consider(c: IndexedContainer): void {
    if (this.stopped || !isContainerLabels(c.labels)) return;
    const logPath = c.labels[LABEL_LOG_PATH];
    if (!logPath) return;
    const running = RUNNING_STATES.has(c.state);
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
    if (!running && (await readPos(this.posFile(id))).done) return;
    // The kubelet makes the pod's log directory (and the container's below it; crictl users do not,
    // and containerd makes that one too). If the pod's is gone, so is the pod's interest in the log:
    // a leaked container must not bring back a directory that was cleaned up.
    const dir = path.dirname(logPath);
    const isDir = (p: string): Promise<boolean> =>
      fsp.stat(p).then(
        (s) => s.isDirectory(),
        () => false,
      );
    let dirOk = await isDir(dir);
    if (!dirOk && running && (await isDir(path.dirname(dir)))) {
      dirOk = await fsp.mkdir(dir, { recursive: true, mode: 0o755 }).then(
        () => true,
        () => false,
      );
    }
    if (!dirOk) {
      if (running) logger.warn('container log directory does not exist', { id, path: logPath });
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
    const pump = new LogPump({ id, logPath, posFile: this.posFile(id), docker: this.docker });
    this.pumps.set(id, pump);
    logger.debug('log pump started', { id, path: logPath });
    const counted = metrics.logPumpStarted();
    void pump.done.then((end) => {
      counted();
      return this.ended(pump, end);
    });
  }

  private async ended(pump: LogPump, end: PumpEnd): Promise<void> {
    const id = pump.id;
    if (this.pumps.get(id) === pump) this.pumps.delete(id);
    logger.debug('log pump ended', { id, end, bytes: pump.bytesWritten });
    try {
      if (end === 'complete') await writePos(this.posFile(id), { at: pump.position(), done: true });
      if (end === 'gone') await fsp.rm(this.posFile(id), { force: true });
    } catch (err) {
      logger.warn('cannot record log position', { id, error: (err as Error).message });
    }
    await this.locks.release(id);
    if (this.stopped) return;
    if (end === 'failed') this.retryLater(id);
    // Started again meanwhile? The index may also just not have seen the exit yet, so look again
    // later rather than now (a pump per index lag would spin).
    const now = this.index.get(id);
    if (end === 'complete' && now && RUNNING_STATES.has(now.state)) this.retryLater(id);
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
