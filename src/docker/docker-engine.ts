import { Readable, type Duplex } from 'stream';
import type { ContainerCreateOptions, ContainerStats } from 'dockerode';
import type { DockerClient } from './client';
import type {
  CallOptions,
  ContainerFilters,
  Engine,
  EngineInfo,
  ExecSpec,
  ImportRequest,
  LogsRequest,
  StreamSelection,
  TerminalSize,
} from './engine';
import type { DockerUpdate } from '../translate/container-resources';
import { logger } from '../logger';

/** Long polls and streams: as good as no deadline (setTimeout's largest delay). */
const NO_DEADLINE_MS = 2 ** 31 - 1;

const container = (id: string): string => `container "${id}"`;

/** Reads a progress stream to its end as text. */
function readAll(stream: Readable): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (buf += c));
    stream.once('end', () => resolve(buf));
    stream.once('error', reject);
  });
}

/**
 * The Engine over dockerode. Every call goes through DockerClient.call: the deadline, the debug
 * line, the metrics observers and the one error mapping. Calls whose answer is a long-lived stream
 * (exec, attach, logs, pulls) use the stream client, which has no socket timeout.
 */
export class DockerEngine implements Engine {
  constructor(private readonly client: DockerClient) {}

  get endpoint(): string {
    return this.client.endpoint;
  }

  ping(timeoutMs: number): Promise<void> {
    return this.client.ping(timeoutMs);
  }

  version(o?: CallOptions) {
    return this.client.call('version', o?.context ?? 'docker engine', (d) => d.version(), o?.timeoutMs);
  }

  async info(o?: CallOptions): Promise<EngineInfo> {
    return (await this.client.call(
      'info',
      o?.context ?? 'docker engine',
      (d) => d.info(),
      o?.timeoutMs,
    )) as EngineInfo;
  }

  listContainers(filters: ContainerFilters, o?: CallOptions) {
    return this.client.call(
      'container.list',
      o?.context,
      (d) => d.listContainers({ all: true, filters: { ...filters } }),
      o?.timeoutMs,
    );
  }

  inspectContainer(id: string, o?: CallOptions) {
    return this.client.call(
      'container.inspect',
      o?.context ?? container(id),
      (d) => d.getContainer(id).inspect(),
      o?.timeoutMs,
    );
  }

  async createContainer(opts: ContainerCreateOptions, o?: CallOptions): Promise<string> {
    const c = await this.client.call(
      'container.create',
      o?.context ?? container(opts.name ?? ''),
      (d) => d.createContainer(opts),
      o?.timeoutMs,
    );
    return c.id;
  }

  async startContainer(id: string, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.start',
      o?.context ?? container(id),
      (d) => d.getContainer(id).start(),
      o?.timeoutMs,
    );
  }

  async stopContainer(id: string, graceSeconds: number, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.stop',
      o?.context ?? container(id),
      (d) => d.getContainer(id).stop({ t: graceSeconds }),
      o?.timeoutMs,
    );
  }

  async removeContainer(id: string, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.remove',
      o?.context ?? container(id),
      (d) => d.getContainer(id).remove({ force: true, v: true }),
      o?.timeoutMs,
    );
  }

  async updateContainer(id: string, update: DockerUpdate, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.update',
      o?.context ?? container(id),
      (d) => d.getContainer(id).update(update),
      o?.timeoutMs,
    );
  }

  async waitContainer(id: string, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.wait',
      o?.context ?? container(id),
      // Our own abort (the caller stopped waiting) is not a failed call.
      () =>
        this.client.stream
          .getContainer(id)
          .wait({ condition: 'not-running', abortSignal: signal })
          .catch((err: unknown) => {
            if (!signal.aborted) throw err;
          }),
      o?.timeoutMs ?? NO_DEADLINE_MS,
    );
  }

  async attachContainer(id: string, streams: StreamSelection, o?: CallOptions): Promise<Duplex> {
    return (await this.client.call(
      'container.attach',
      o?.context ?? container(id),
      () => this.client.stream.getContainer(id).attach({ stream: true, hijack: true, ...streams }),
      o?.timeoutMs,
    )) as unknown as Duplex;
  }

  async resizeContainer(id: string, size: TerminalSize, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.resize',
      o?.context ?? container(id),
      (d) => d.getContainer(id).resize(size),
      o?.timeoutMs,
    );
  }

  async checkpointContainer(id: string, checkpointId: string, dir: string, o?: CallOptions): Promise<void> {
    await this.client.call(
      'container.checkpoint',
      o?.context ?? container(id),
      // dockerode has no checkpoint call: the route as Docker documents it.
      (d) =>
        new Promise<void>((resolve, reject) => {
          d.modem.dial(
            {
              path: `/containers/${id}/checkpoints?`,
              method: 'POST',
              options: { CheckpointID: checkpointId, CheckpointDir: dir, Exit: false },
              statusCodes: { 201: true, 204: true, 404: 'no such container', 500: 'server error' },
            },
            (err: unknown) => (err ? reject(err) : resolve()),
          );
        }),
      o?.timeoutMs,
    );
  }

  async containerLogs(id: string, req: LogsRequest, o?: CallOptions): Promise<Readable> {
    return (await this.client.call(
      'container.logs',
      o?.context ?? container(id),
      () => this.client.stream.getContainer(id).logs(req),
      o?.timeoutMs,
    )) as unknown as Readable;
  }

  async containerStats(id: string, o?: CallOptions): Promise<ContainerStats> {
    return this.client.call(
      'container.stats',
      o?.context ?? container(id),
      (d) => d.getContainer(id).stats({ stream: false, 'one-shot': true }),
      o?.timeoutMs,
    );
  }

  async containerEvents(): Promise<Readable> {
    return (await this.client.stream.getEvents({ filters: { type: ['container'] } })) as unknown as Readable;
  }

  async createExec(containerId: string, spec: ExecSpec, o?: CallOptions): Promise<string> {
    // The stream client: an exec may rightly run longer than the API client's socket timeout.
    const exec = await this.client.call(
      'exec.create',
      o?.context ?? container(containerId),
      () => this.client.stream.getContainer(containerId).exec({ ...spec, Cmd: [...spec.Cmd] }),
      o?.timeoutMs,
    );
    return exec.id;
  }

  startExec(
    execId: string,
    opts: { stdin: boolean; tty: boolean; consoleSize?: TerminalSize },
    o?: CallOptions,
  ): Promise<Duplex> {
    return this.client.call(
      'exec.start',
      o?.context ?? `exec "${execId}"`,
      () =>
        this.client.stream.getExec(execId).start({
          hijack: true,
          stdin: opts.stdin,
          Tty: opts.tty,
          Detach: false,
          ...(opts.consoleSize ? { ConsoleSize: [opts.consoleSize.h, opts.consoleSize.w] } : {}),
        }),
      o?.timeoutMs,
    );
  }

  inspectExec(execId: string, o?: CallOptions) {
    return this.client.call(
      'exec.inspect',
      o?.context ?? `exec "${execId}"`,
      (d) => d.getExec(execId).inspect(),
      o?.timeoutMs,
    );
  }

  async resizeExec(execId: string, size: TerminalSize, o?: CallOptions): Promise<void> {
    await this.client.call(
      'exec.resize',
      o?.context ?? `exec "${execId}"`,
      (d) => d.getExec(execId).resize(size),
      o?.timeoutMs,
    );
  }

  listImages(o?: CallOptions) {
    return this.client.call('image.list', o?.context, (d) => d.listImages(), o?.timeoutMs);
  }

  inspectImage(ref: string, o?: CallOptions) {
    return this.client.call(
      'image.inspect',
      o?.context ?? `image "${ref}"`,
      (d) => d.getImage(ref).inspect(),
      o?.timeoutMs,
    );
  }

  async pullImage(
    fromImage: string,
    tag: string,
    auth: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<Readable> {
    const start = process.hrtime.bigint();
    try {
      return (await this.client.stream.createImage(auth ?? {}, {
        fromImage,
        tag,
        abortSignal: signal,
      })) as unknown as Readable;
    } finally {
      logger.debug('docker call', {
        docker: 'image.pull',
        context: `image "${fromImage}:${tag}"`,
        durationMs: Number(process.hrtime.bigint() - start) / 1e6,
      });
    }
  }

  async removeImage(ref: string, o?: CallOptions): Promise<void> {
    await this.client.call(
      'image.remove',
      o?.context ?? `image "${ref}"`,
      (d) => d.getImage(ref).remove({ noprune: false }),
      o?.timeoutMs,
    );
  }

  importImage(tarball: Buffer, req: ImportRequest, o?: CallOptions): Promise<string> {
    return this.client.call(
      'image.import',
      o?.context ?? `image "${req.repo}:${req.tag}"`,
      async (d) =>
        readAll((await d.importImage(Readable.from([tarball]), { ...req })) as unknown as Readable),
      o?.timeoutMs,
    );
  }
}
