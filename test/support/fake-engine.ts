import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { PassThrough, Readable, type Duplex } from 'stream';
import type {
  ContainerCreateOptions,
  ContainerInfo,
  ContainerInspectInfo,
  ContainerStats,
  DockerVersion,
  ExecInspectInfo,
  ImageInfo,
  ImageInspectInfo,
} from 'dockerode';
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
} from '../../src/docker/engine';
import type { DockerUpdate } from '../../src/translate/container-resources';
import { toCriError } from '../../src/docker/errors';

/** A failure as dockerode hands it over: the HTTP status, and the engine's message in `json`. */
export interface DockerLikeError extends Error {
  statusCode?: number;
  code?: string;
  json?: { message: string };
}

/** An engine answer with HTTP status `statusCode` (404, 409, 500...). */
export function dockerError(statusCode: number, message: string): DockerLikeError {
  const err = new Error(`(HTTP code ${statusCode}) unexpected - ${message}`) as DockerLikeError;
  err.statusCode = statusCode;
  err.json = { message };
  return err;
}

/** What DockerClient raises when a call outlives its deadline. */
export function dockerTimeout(op = 'call'): DockerLikeError {
  const err = new Error(`docker ${op} took longer than 1000 ms`) as DockerLikeError;
  err.code = 'DOCKER_TIMEOUT';
  return err;
}

/** What the socket raises when the engine is not there. */
export function dockerUnreachable(): DockerLikeError {
  const err = new Error('connect ECONNREFUSED /var/run/docker.sock') as DockerLikeError;
  err.code = 'ECONNREFUSED';
  return err;
}

/** What an exec does when started: its output, exit code and how long it runs. */
export interface ExecScript {
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  exitCode?: number;
  /** Run time before the output closes. */
  durationMs?: number;
}

interface Fault {
  op: string;
  error: DockerLikeError;
  times: number;
  /** Only calls about this id/ref/name (as given to the method). */
  subject?: string;
}

interface FakeContainer {
  id: string;
  name: string;
  created: string;
  opts: ContainerCreateOptions;
  imageId: string;
  state: ContainerInspectInfo['State'];
  ip: string;
  updates: DockerUpdate[];
}

interface FakeExec {
  id: string;
  containerId: string;
  spec: ExecSpec;
  running: boolean;
  exitCode: number | null;
  pid: number;
  stream?: PassThrough;
}

export interface FakeImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Size: number;
  Created: string;
  Config: { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[] };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const hex64 = (): string => crypto.randomBytes(32).toString('hex');
const now = (): string => new Date().toISOString();

/** Docker's reading of a short reference: `busybox` is `busybox:latest`, docker.io/library implied. */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
  if (r.includes('@')) return r;
  const lastSlash = r.lastIndexOf('/');
  if (!r.slice(lastSlash + 1).includes(':')) r = `${r}:latest`;
  return r;
}

/**
 * An in-memory Docker for handler tests: containers with Docker's state machine, images, execs
 * that run scripts, events, and injectable failures (Docker-like errors mapped by the same
 * toCriError the real engine uses) and delays. Records every call in `calls`.
 */
export class FakeEngine implements Engine {
  readonly endpoint = 'unix:///fake/docker.sock';
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, FakeImage>();
  /** What a pull can fetch, by normalized reference. */
  readonly registry = new Map<string, Omit<FakeImage, 'RepoTags'>>();
  readonly execs = new Map<string, FakeExec>();
  readonly calls: Array<{ op: string; subject: string }> = [];
  /** How execs behave, by command; the default prints nothing and exits 0. */
  execScript: (cmd: string[]) => ExecScript = () => ({});
  engineInfo: EngineInfo = {
    ServerVersion: '28.0.0',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: '2',
    Runtimes: { runc: {} },
    DefaultRuntime: 'runc',
    Driver: 'overlay2',
    DockerRootDir: '/nonexistent/fake-docker-root',
  };
  /** While true, changes send no events (Docker's fan-out dropping them for a slow subscriber). */
  eventsLost = false;
  private faults: Fault[] = [];
  private delays = new Map<string, number>();
  private events = new Set<PassThrough>();
  private nextIp = 2;
  private nextPid = 4_000_000;

  /** The next `times` calls of `op` (about `subject`, if given) fail with `error`. */
  fail(op: string, error: DockerLikeError, opts: { times?: number; subject?: string } = {}): this {
    this.faults.push({ op, error, times: opts.times ?? 1, subject: opts.subject });
    return this;
  }

  /** Every call of `op` waits `ms` first. */
  delay(op: string, ms: number): this {
    this.delays.set(op, ms);
    return this;
  }

  /** How many calls of `op` were made (about `subject`, if given). */
  count(op: string, subject?: string): number {
    return this.calls.filter((c) => c.op === op && (subject === undefined || c.subject === subject)).length;
  }

  /** An image the engine has, tagged `ref`; answers it. */
  addImage(ref: string, extra: Partial<FakeImage> = {}): FakeImage {
    const tag = normalizeRef(ref);
    const existing = [...this.images.values()].find((i) => i.RepoTags.includes(tag));
    if (existing) return existing;
    const img: FakeImage = {
      Id: `sha256:${hex64()}`,
      RepoTags: [tag],
      RepoDigests: [],
      Size: 1234,
      Created: now(),
      Config: {},
      ...extra,
    };
    this.images.set(img.Id, img);
    return img;
  }

  /** A container made behind the handlers' back (as another client or an earlier run would). */
  addContainer(opts: ContainerCreateOptions, state: 'created' | 'running' | 'exited' = 'created'): string {
    const id = this.create(opts);
    if (state !== 'created') this.run(this.containers.get(id)!);
    if (state === 'exited') this.exit(this.containers.get(id)!, 0);
    return id;
  }

  /** Ends every open events stream, as an engine that goes away does. */
  endEventStreams(): void {
    for (const s of this.events) s.end();
  }

  /** The container's process ends by itself with `exitCode`. */
  exitContainer(id: string, exitCode: number): void {
    const c = this.containers.get(id);
    if (c?.state.Running) this.exit(c, exitCode);
  }

  // ---- Engine -------------------------------------------------------------------------------

  async ping(): Promise<void> {
    await this.enter('ping', 'engine', 'docker engine');
  }

  async version(o?: CallOptions): Promise<DockerVersion> {
    await this.enter('version', 'engine', o?.context ?? 'docker engine');
    return {
      Version: this.engineInfo.ServerVersion ?? '28.0.0',
      ApiVersion: '1.48',
      MinAPIVersion: '1.24',
      GitCommit: 'fake',
      GoVersion: 'go1.23',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.1.0',
      BuildTime: now(),
    } as unknown as DockerVersion;
  }

  async info(o?: CallOptions): Promise<EngineInfo> {
    await this.enter('info', 'engine', o?.context ?? 'docker engine');
    return { ...this.engineInfo };
  }

  async listContainers(filters: ContainerFilters, o?: CallOptions): Promise<ContainerInfo[]> {
    await this.enter('container.list', '', o?.context);
    return [...this.containers.values()]
      .filter((c) => (filters.id ?? []).every((id) => c.id.startsWith(id)))
      .filter((c) =>
        (filters.label ?? []).every((l) => {
          const eq = l.indexOf('=');
          const labels = c.opts.Labels ?? {};
          return eq < 0 ? l in labels : labels[l.slice(0, eq)] === l.slice(eq + 1);
        }),
      )
      .map((c) => this.listEntry(c));
  }

  /**
   * The container index's own inspect (its refresh after an event or a mutation), recorded and
   * failed as `index.inspect`, so that a test's fault meant for a handler's inspect is not taken by it.
   */
  async indexInspect(id: string): Promise<ContainerInspectInfo> {
    await this.enter('index.inspect', id, `container "${id}"`);
    return this.inspectOf(this.find(id, `container "${id}"`));
  }

  async inspectContainer(id: string, o?: CallOptions): Promise<ContainerInspectInfo> {
    await this.enter('container.inspect', id, o?.context ?? `container "${id}"`);
    return this.inspectOf(this.find(id, o?.context ?? `container "${id}"`));
  }

  async createContainer(opts: ContainerCreateOptions, o?: CallOptions): Promise<string> {
    const name = opts.name ?? '';
    const context = o?.context ?? `container "${name}"`;
    await this.enter('container.create', name, context);
    const holder = [...this.containers.values()].find((c) => c.name === name);
    if (name && holder) {
      throw toCriError(
        dockerError(
          409,
          `Conflict. The container name "/${name}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`,
        ),
        context,
      );
    }
    if (!this.imageOf(opts.Image ?? '')) {
      throw toCriError(dockerError(404, `No such image: ${opts.Image}`), context);
    }
    return this.create(opts);
  }

  async startContainer(id: string, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.start', id, context);
    const c = this.find(id, context);
    if (c.state.Running) throw toCriError({ statusCode: 304, message: '' }, context);
    this.run(c);
  }

  async stopContainer(id: string, graceSeconds: number, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.stop', id, context);
    const c = this.find(id, context);
    if (!c.state.Running) throw toCriError({ statusCode: 304, message: '' }, context);
    // A process that ignores SIGTERM: killed once the grace is over (at once for 0).
    this.exit(c, graceSeconds > 0 ? 143 : 137);
  }

  async removeContainer(id: string, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.remove', id, context);
    const c = this.find(id, context);
    this.containers.delete(c.id);
    for (const [eid, e] of this.execs) if (e.containerId === c.id) this.execs.delete(eid);
    this.emit(c, 'destroy');
  }

  async updateContainer(id: string, update: DockerUpdate, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.update', id, context);
    const c = this.find(id, context);
    c.updates.push(update);
    c.opts.HostConfig = { ...c.opts.HostConfig, ...update } as ContainerCreateOptions['HostConfig'];
  }

  async waitContainer(id: string, signal: AbortSignal, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.wait', id, context);
    while (!signal.aborted && this.find(id, context).state.Running) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async attachContainer(id: string, _streams: StreamSelection, o?: CallOptions): Promise<Duplex> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.attach', id, context);
    this.find(id, context);
    return new PassThrough();
  }

  async resizeContainer(id: string, _size: TerminalSize, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.resize', id, context);
    this.find(id, context);
  }

  /** Writes a stand-in for CRIU's image files, as an experimental engine with CRIU would. */
  async checkpointContainer(id: string, checkpointId: string, dir: string, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.checkpoint', id, context);
    const c = this.find(id, context);
    if (!c.state.Running) throw toCriError(dockerError(409, `container ${c.id} is not running`), context);
    await fs.promises.mkdir(path.join(dir, checkpointId), { recursive: true });
    await fs.promises.writeFile(path.join(dir, checkpointId, 'inventory.img'), c.id);
  }

  async containerLogs(id: string, _req: LogsRequest, o?: CallOptions): Promise<Readable> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.logs', id, context);
    this.find(id, context);
    return Readable.from([]);
  }

  async containerStats(id: string, o?: CallOptions): Promise<ContainerStats> {
    const context = o?.context ?? `container "${id}"`;
    await this.enter('container.stats', id, context);
    this.find(id, context);
    return { read: now() } as unknown as ContainerStats;
  }

  async containerEvents(): Promise<Readable> {
    await this.enter('events', '', undefined);
    const stream = new PassThrough();
    this.events.add(stream);
    stream.once('close', () => this.events.delete(stream));
    return stream;
  }

  async createExec(containerId: string, spec: ExecSpec, o?: CallOptions): Promise<string> {
    const context = o?.context ?? `container "${containerId}"`;
    await this.enter('exec.create', containerId, context);
    const c = this.find(containerId, context);
    if (!c.state.Running) throw toCriError(dockerError(409, `Container ${c.id} is not running`), context);
    const id = hex64();
    this.execs.set(id, { id, containerId: c.id, spec, running: false, exitCode: null, pid: 0 });
    return id;
  }

  /** The options of every exec start, in order (for tests). */
  readonly execStarts: Array<{ stdin: boolean; tty: boolean; consoleSize?: TerminalSize }> = [];

  async startExec(
    execId: string,
    opts: { stdin: boolean; tty: boolean; consoleSize?: TerminalSize },
    o?: CallOptions,
  ): Promise<Duplex> {
    this.execStarts.push(opts);
    const context = o?.context ?? `exec "${execId}"`;
    await this.enter('exec.start', execId, context);
    const e = this.execs.get(execId);
    if (!e) throw toCriError(dockerError(404, `No such exec instance: ${execId}`), context);
    const script = this.execScript(e.spec.Cmd);
    const stream = new PassThrough();
    e.stream = stream;
    e.running = true;
    e.pid = this.nextPid++;
    const frame = (type: number, data: string | Buffer): Buffer => {
      const body = Buffer.from(data);
      const head = Buffer.alloc(8);
      head[0] = type;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    const finish = (): void => {
      if (script.stdout) stream.write(opts.tty ? Buffer.from(script.stdout) : frame(1, script.stdout));
      if (script.stderr && !opts.tty) stream.write(frame(2, script.stderr));
      e.running = false;
      e.exitCode = script.exitCode ?? 0;
      stream.end();
    };
    if (script.durationMs) setTimeout(finish, script.durationMs);
    else setImmediate(finish);
    return stream;
  }

  async inspectExec(execId: string, o?: CallOptions): Promise<ExecInspectInfo> {
    const context = o?.context ?? `exec "${execId}"`;
    await this.enter('exec.inspect', execId, context);
    const e = this.execs.get(execId);
    if (!e) throw toCriError(dockerError(404, `No such exec instance: ${execId}`), context);
    return {
      ID: e.id,
      ContainerID: e.containerId,
      Running: e.running,
      ExitCode: e.exitCode,
      Pid: e.pid,
      OpenStdin: e.spec.AttachStdin,
      OpenStdout: e.spec.AttachStdout,
      OpenStderr: e.spec.AttachStderr,
      ProcessConfig: { entrypoint: e.spec.Cmd[0], arguments: e.spec.Cmd.slice(1), tty: e.spec.Tty },
    } as unknown as ExecInspectInfo;
  }

  /** Every exec resize asked for, in order. */
  readonly execResizes: TerminalSize[] = [];

  async resizeExec(execId: string, size: TerminalSize, o?: CallOptions): Promise<void> {
    this.execResizes.push(size);
    await this.enter('exec.resize', execId, o?.context ?? `exec "${execId}"`);
  }

  async listImages(o?: CallOptions): Promise<ImageInfo[]> {
    await this.enter('image.list', '', o?.context);
    return [...this.images.values()].map(
      (i) =>
        ({
          Id: i.Id,
          ParentId: '',
          RepoTags: i.RepoTags,
          RepoDigests: i.RepoDigests,
          Created: Math.floor(Date.parse(i.Created) / 1000),
          Size: i.Size,
          VirtualSize: i.Size,
          SharedSize: 0,
          Labels: {},
          Containers: 0,
        }) as ImageInfo,
    );
  }

  async inspectImage(ref: string, o?: CallOptions): Promise<ImageInspectInfo> {
    const context = o?.context ?? `image "${ref}"`;
    await this.enter('image.inspect', ref, context);
    const img = this.imageOf(ref);
    if (!img) throw toCriError(dockerError(404, `No such image: ${ref}`), context);
    return this.imageInspect(img);
  }

  async pullImage(
    fromImage: string,
    tag: string,
    _auth: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<Readable> {
    const ref = normalizeRef(tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`);
    // Pull failures stay raw: the handler reads their words (see Engine.pullImage).
    const fault = this.takeFault('image.pull', ref);
    this.calls.push({ op: 'image.pull', subject: ref });
    await this.wait('image.pull', signal);
    if (signal.aborted) {
      // As docker-modem rejects a request whose signal fired.
      const err = new Error('The operation was aborted');
      err.name = 'AbortError';
      throw err;
    }
    if (fault) throw fault;
    const known = this.registry.get(ref);
    if (!known) {
      return Readable.from([
        `${JSON.stringify({ status: `Pulling from ${fromImage}` })}\n`,
        `${JSON.stringify({ errorDetail: { message: `manifest for ${ref} not found: manifest unknown` }, error: `manifest for ${ref} not found: manifest unknown` })}\n`,
      ]);
    }
    let img = this.images.get(known.Id);
    if (!img) {
      img = { ...known, RepoTags: [] };
      this.images.set(img.Id, img);
    }
    if (!ref.includes('@') && !img.RepoTags.includes(ref)) img.RepoTags.push(ref);
    return Readable.from([
      `${JSON.stringify({ status: `Pulling from ${fromImage}`, id: tag })}\n`,
      `${JSON.stringify({ status: `Status: Downloaded newer image for ${ref}` })}\n`,
    ]);
  }

  async removeImage(ref: string, o?: CallOptions): Promise<void> {
    const context = o?.context ?? `image "${ref}"`;
    await this.enter('image.remove', ref, context);
    const img = this.imageOf(ref);
    if (!img) throw toCriError(dockerError(404, `No such image: ${ref}`), context);
    const tag = normalizeRef(ref);
    if (img.RepoTags.includes(tag) && img.RepoTags.length > 1) {
      img.RepoTags = img.RepoTags.filter((t) => t !== tag);
      return;
    }
    const user = [...this.containers.values()].find((c) => c.imageId === img.Id);
    if (user) {
      throw toCriError(
        dockerError(
          409,
          `conflict: unable to delete ${img.Id.slice(7, 19)} (must be forced) - image is being used by stopped container ${user.id.slice(0, 12)}`,
        ),
        context,
      );
    }
    this.images.delete(img.Id);
  }

  async importImage(_tarball: Buffer, req: ImportRequest, o?: CallOptions): Promise<string> {
    await this.enter(
      'image.import',
      `${req.repo}:${req.tag}`,
      o?.context ?? `image "${req.repo}:${req.tag}"`,
    );
    const img = this.addImage(`${req.repo}:${req.tag}`);
    return `${JSON.stringify({ status: img.Id })}\n`;
  }

  // ---- internals ----------------------------------------------------------------------------

  private takeFault(op: string, subject: string): DockerLikeError | undefined {
    const f = this.faults.find((x) => x.op === op && (x.subject === undefined || x.subject === subject));
    if (!f) return undefined;
    if (--f.times <= 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f.error;
  }

  private async wait(op: string, signal?: AbortSignal): Promise<void> {
    const ms = this.delays.get(op);
    if (!ms) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Records the call, waits any delay, and fails as configured, mapped as the real engine maps. */
  private async enter(op: string, subject: string, context: string | undefined): Promise<void> {
    this.calls.push({ op, subject });
    await this.wait(op);
    const fault = this.takeFault(op, subject);
    if (fault) throw toCriError(fault, context);
  }

  /** By full id, unique prefix or name, as Docker resolves them; 404 otherwise. */
  private find(ref: string, context: string): FakeContainer {
    const exact = this.containers.get(ref);
    if (exact) return exact;
    const byName = [...this.containers.values()].find((c) => c.name === ref.replace(/^\//, ''));
    if (byName) return byName;
    const byPrefix = [...this.containers.values()].filter((c) => c.id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0];
    throw toCriError(dockerError(404, `No such container: ${ref}`), context);
  }

  private imageOf(ref: string): FakeImage | undefined {
    if (!ref) return undefined;
    const id = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
    const byId = [...this.images.values()].find(
      (i) => i.Id === id || (/^[0-9a-f]{6,}$/.test(ref) && i.Id.startsWith(id)),
    );
    if (byId) return byId;
    const norm = normalizeRef(ref);
    return [...this.images.values()].find((i) => i.RepoTags.includes(norm) || i.RepoDigests.includes(norm));
  }

  private imageInspect(img: FakeImage): ImageInspectInfo {
    return {
      Id: img.Id,
      RepoTags: img.RepoTags,
      RepoDigests: img.RepoDigests,
      Created: img.Created,
      Size: img.Size,
      VirtualSize: img.Size,
      Architecture: 'amd64',
      Os: 'linux',
      Config: { Env: [], ...img.Config },
      RootFS: { Type: 'layers', Layers: [] },
    } as unknown as ImageInspectInfo;
  }

  private create(opts: ContainerCreateOptions): string {
    const id = hex64();
    const name = opts.name ?? `fake_${id.slice(0, 8)}`;
    const image = this.imageOf(opts.Image ?? '');
    const c: FakeContainer = {
      id,
      name,
      created: now(),
      opts: { ...opts, Labels: { ...opts.Labels } },
      imageId: image?.Id ?? '',
      ip: `172.17.0.${this.nextIp++}`,
      updates: [],
      state: {
        Status: 'created',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: 0,
        Error: '',
        StartedAt: ZERO_TIME,
        FinishedAt: ZERO_TIME,
      },
    };
    this.containers.set(id, c);
    this.emit(c, 'create');
    return id;
  }

  private run(c: FakeContainer): void {
    c.state = {
      ...c.state,
      Status: 'running',
      Running: true,
      Pid: this.nextPid++,
      ExitCode: 0,
      StartedAt: now(),
      FinishedAt: ZERO_TIME,
    };
    this.emit(c, 'start');
  }

  private exit(c: FakeContainer, exitCode: number): void {
    c.state = { ...c.state, Status: 'exited', Running: false, Pid: 0, ExitCode: exitCode, FinishedAt: now() };
    this.emit(c, 'die');
  }

  private emit(c: FakeContainer, action: string): void {
    if (this.eventsLost) return;
    const line = JSON.stringify({
      Type: 'container',
      Action: action,
      id: c.id,
      Actor: { ID: c.id, Attributes: { ...c.opts.Labels, name: c.name } },
      time: Math.floor(Date.now() / 1000),
    });
    for (const s of this.events) s.write(`${line}\n`);
  }

  private listEntry(c: FakeContainer): ContainerInfo {
    return {
      Id: c.id,
      Names: [`/${c.name}`],
      Image: c.opts.Image ?? '',
      ImageID: c.imageId,
      Command: '',
      Created: Math.floor(Date.parse(c.created) / 1000),
      Ports: [],
      Labels: { ...c.opts.Labels },
      State: c.state.Status,
      Status: c.state.Status,
      HostConfig: { NetworkMode: c.opts.HostConfig?.NetworkMode ?? 'default' },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    } as ContainerInfo;
  }

  private inspectOf(c: FakeContainer): ContainerInspectInfo {
    const hc = c.opts.HostConfig ?? {};
    const hostNet = hc.NetworkMode === 'host' || hc.NetworkMode?.startsWith('container:');
    const ip = c.state.Running && !hostNet && hc.NetworkMode !== 'none' ? c.ip : '';
    return {
      Id: c.id,
      Name: `/${c.name}`,
      Created: c.created,
      Path: c.opts.Entrypoint?.[0] ?? '',
      Args: [],
      State: { ...c.state },
      Image: c.imageId,
      ResolvConfPath: '',
      HostnamePath: '',
      HostsPath: '',
      LogPath: '',
      RestartCount: 0,
      Driver: 'overlay2',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      HostConfig: { ...hc },
      GraphDriver: { Name: 'overlay2', Data: {} },
      Mounts: [],
      Config: {
        Hostname: c.opts.Hostname ?? '',
        Image: c.opts.Image ?? '',
        Labels: { ...c.opts.Labels },
        Env: c.opts.Env ?? [],
        Cmd: c.opts.Cmd ?? [],
        Entrypoint: c.opts.Entrypoint,
        Tty: c.opts.Tty ?? false,
        User: c.opts.User ?? '',
        WorkingDir: c.opts.WorkingDir ?? '',
      },
      NetworkSettings: {
        IPAddress: ip,
        Networks: ip ? { bridge: { IPAddress: ip, GlobalIPv6Address: '' } } : {},
      },
    } as unknown as ContainerInspectInfo;
  }
}
