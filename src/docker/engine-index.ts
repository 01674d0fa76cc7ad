import type { ContainerCreateOptions } from 'dockerode';
import type { CallOptions, ContainerFilters, Engine, ExecSpec, ImportRequest, LogsRequest } from './engine';
import type { StreamSelection, TerminalSize } from './engine';
import type { DockerUpdate } from '../translate/container-resources';
import { isNotFound } from './errors';

/** The index's public writes this needs (container-index.ts's ContainerIndex has them). */
export interface IndexWriter {
  /** Re-reads one container from Docker; `action` names why, in the index's change events. */
  refresh(id: string, action: string): Promise<unknown>;
  /** Drops a container that is gone. */
  forget(id: string): void;
  /** Marks a container exited after a stop of ours succeeded. */
  markExited(id: string): void;
}

/**
 * An Engine whose container changes reach the index before the call returns, so that a List right
 * after sees them and no handler has to remember to refresh. After a start the container is re-read
 * whether the call succeeded or not (a failed start may still have changed its state, and a started
 * one may have exited already); a successful stop is known to have left it exited, a failed one
 * (or a 304: it was not running) is re-read;
 * a forced remove that succeeded or found nothing drops it; any other failed remove re-reads it,
 * since it may still be there: a 409 "removal already in progress" too, as that removal may yet
 * fail and leave a dead container, which must stay visible (its destroy event drops it otherwise).
 */
export class IndexedEngine implements Engine {
  constructor(
    private readonly engine: Engine,
    private readonly index: IndexWriter,
  ) {}

  get endpoint(): string {
    return this.engine.endpoint;
  }

  async createContainer(opts: ContainerCreateOptions, o?: CallOptions): Promise<string> {
    const id = await this.engine.createContainer(opts, o);
    await this.index.refresh(id, 'create');
    return id;
  }

  async startContainer(id: string, o?: CallOptions): Promise<void> {
    try {
      await this.engine.startContainer(id, o);
    } finally {
      await this.index.refresh(id, 'start');
    }
  }

  async stopContainer(id: string, graceSeconds: number, o?: CallOptions): Promise<void> {
    try {
      await this.engine.stopContainer(id, graceSeconds, o);
    } catch (err) {
      await this.index.refresh(id, 'stop');
      throw err;
    }
    this.index.markExited(id);
  }

  async removeContainer(id: string, o?: CallOptions): Promise<void> {
    try {
      await this.engine.removeContainer(id, o);
    } catch (err) {
      if (isNotFound(err)) this.index.forget(id);
      else await this.index.refresh(id, 'remove');
      throw err;
    }
    this.index.forget(id);
  }

  ping(timeoutMs: number) {
    return this.engine.ping(timeoutMs);
  }
  version(o?: CallOptions) {
    return this.engine.version(o);
  }
  info(o?: CallOptions) {
    return this.engine.info(o);
  }
  listContainers(filters: ContainerFilters, o?: CallOptions) {
    return this.engine.listContainers(filters, o);
  }
  inspectContainer(id: string, o?: CallOptions) {
    return this.engine.inspectContainer(id, o);
  }
  updateContainer(id: string, update: DockerUpdate, o?: CallOptions) {
    return this.engine.updateContainer(id, update, o);
  }
  waitContainer(id: string, signal: AbortSignal, o?: CallOptions) {
    return this.engine.waitContainer(id, signal, o);
  }
  attachContainer(id: string, streams: StreamSelection, o?: CallOptions) {
    return this.engine.attachContainer(id, streams, o);
  }
  resizeContainer(id: string, size: TerminalSize, o?: CallOptions) {
    return this.engine.resizeContainer(id, size, o);
  }
  checkpointContainer(id: string, checkpointId: string, dir: string, o?: CallOptions) {
    return this.engine.checkpointContainer(id, checkpointId, dir, o);
  }
  containerLogs(id: string, req: LogsRequest, o?: CallOptions) {
    return this.engine.containerLogs(id, req, o);
  }
  containerStats(id: string, o?: CallOptions) {
    return this.engine.containerStats(id, o);
  }
  containerEvents() {
    return this.engine.containerEvents();
  }
  createExec(containerId: string, spec: ExecSpec, o?: CallOptions) {
    return this.engine.createExec(containerId, spec, o);
  }
  startExec(
    execId: string,
    opts: { stdin: boolean; tty: boolean; consoleSize?: TerminalSize },
    o?: CallOptions,
  ) {
    return this.engine.startExec(execId, opts, o);
  }
  inspectExec(execId: string, o?: CallOptions) {
    return this.engine.inspectExec(execId, o);
  }
  resizeExec(execId: string, size: TerminalSize, o?: CallOptions) {
    return this.engine.resizeExec(execId, size, o);
  }
  listImages(o?: CallOptions) {
    return this.engine.listImages(o);
  }
  inspectImage(ref: string, o?: CallOptions) {
    return this.engine.inspectImage(ref, o);
  }
  pullImage(fromImage: string, tag: string, auth: Record<string, string> | undefined, signal: AbortSignal) {
    return this.engine.pullImage(fromImage, tag, auth, signal);
  }
  removeImage(ref: string, o?: CallOptions) {
    return this.engine.removeImage(ref, o);
  }
  importImage(tarball: Buffer, req: ImportRequest, o?: CallOptions) {
    return this.engine.importImage(tarball, req, o);
  }
}
