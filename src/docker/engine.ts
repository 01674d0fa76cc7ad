import type { Duplex, Readable } from 'stream';
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
import type { DockerUpdate } from '../translate/container-resources';

/**
 * Per call: `context` names the object in an error's message (for example `pod sandbox "abc"`;
 * each method has a default naming its argument), `timeoutMs` replaces the engine's call deadline.
 */
export interface CallOptions {
  context?: string;
  timeoutMs?: number;
}

/** The parts of GET /info docker-cri reads. */
export interface EngineInfo {
  ServerVersion?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  /** The storage driver. */
  Driver?: string;
  DockerRootDir?: string;
  /** dockerd runs with --experimental (its checkpoint API needs that). */
  ExperimentalBuild?: boolean;
  /** Entries such as `name=seccomp,profile=builtin` and `name=selinux` (containers are labelled). */
  SecurityOptions?: string[];
}

/** List filters as Docker takes them: `label` entries are `key` or `key=value`, `id` full ids or prefixes. */
export interface ContainerFilters {
  label?: string[];
  id?: string[];
}

export interface ExecSpec {
  Cmd: string[];
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
}

export interface StreamSelection {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface TerminalSize {
  h: number;
  w: number;
}

export interface LogsRequest {
  follow: true;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  /** Docker's `since`: seconds since the epoch, with a fraction. */
  since?: string;
}

export interface ImportRequest {
  repo: string;
  tag: string;
  /** Dockerfile instructions applied to the imported image (ENTRYPOINT, LABEL...). */
  changes: string[];
}

/**
 * What docker-cri asks of Docker, and nothing more: handlers and helpers reach the engine only
 * through this, so that each can be tested against the in-memory engine in test/support.
 *
 * The contract every implementation keeps:
 * - failures are CriErrors from docker/errors.ts's toCriError (with the Docker HTTP status kept),
 *   so `isNotFound`/`isNotModified`/`isConflict` work on them; pullImage alone leaves them raw;
 * - calls that are not streams answer within the call deadline (or `timeoutMs`), else
 *   DEADLINE_EXCEEDED;
 * - with an index attached (see engine-index.ts), a container changed through the engine is
 *   current in the index when the call returns, whether the change succeeded or not.
 */
export interface Engine {
  /** Where the engine is, as configured (for messages). */
  readonly endpoint: string;

  ping(timeoutMs: number): Promise<void>;
  version(o?: CallOptions): Promise<DockerVersion>;
  info(o?: CallOptions): Promise<EngineInfo>;

  /** Every container (running or not) that matches all of the filters. */
  listContainers(filters: ContainerFilters, o?: CallOptions): Promise<ContainerInfo[]>;
  /** By full id, prefix or name; NOT_FOUND when there is none. */
  inspectContainer(id: string, o?: CallOptions): Promise<ContainerInspectInfo>;
  /** Creates (not starts) a container; answers its full id. ALREADY_EXISTS when the name is taken. */
  createContainer(opts: ContainerCreateOptions, o?: CallOptions): Promise<string>;
  /** FAILED_PRECONDITION with HTTP status 304 when it already runs. */
  startContainer(id: string, o?: CallOptions): Promise<void>;
  /** The stop signal, `graceSeconds`, then SIGKILL; status 304 when it was not running. */
  stopContainer(id: string, graceSeconds: number, o?: CallOptions): Promise<void>;
  /** Forced (a running container goes too), with its anonymous volumes. */
  removeContainer(id: string, o?: CallOptions): Promise<void>;
  updateContainer(id: string, update: DockerUpdate, o?: CallOptions): Promise<void>;
  /** Resolves when the container is not running; a long poll with no deadline, ended by `signal`. */
  waitContainer(id: string, signal: AbortSignal, o?: CallOptions): Promise<void>;
  /** The hijacked connection to the main process (multiplexed unless the container has a TTY). */
  attachContainer(id: string, streams: StreamSelection, o?: CallOptions): Promise<Duplex>;
  resizeContainer(id: string, size: TerminalSize, o?: CallOptions): Promise<void>;
  /**
   * CRIU's image of a running container, which keeps running, written to `<dir>/<checkpointId>`.
   * Only an experimental engine with CRIU has this API.
   */
  checkpointContainer(id: string, checkpointId: string, dir: string, o?: CallOptions): Promise<void>;
  /** Docker's log stream (multiplexed unless TTY), following; no deadline once it flows. */
  containerLogs(id: string, req: LogsRequest, o?: CallOptions): Promise<Readable>;
  /** One reading of Docker's own stats. */
  containerStats(id: string, o?: CallOptions): Promise<ContainerStats>;
  /** Docker's events as JSON lines, for as long as the stream is open. */
  containerEvents(): Promise<Readable>;

  /** Creates an exec in a running container; answers its id. */
  createExec(containerId: string, spec: ExecSpec, o?: CallOptions): Promise<string>;
  /** Starts it hijacked: the connection lasts as long as the command (multiplexed unless TTY). */
  /** `consoleSize`: the terminal's size from the start (Docker API ≥ 1.42; older engines ignore it). */
  startExec(
    execId: string,
    opts: { stdin: boolean; tty: boolean; consoleSize?: TerminalSize },
    o?: CallOptions,
  ): Promise<Duplex>;
  inspectExec(execId: string, o?: CallOptions): Promise<ExecInspectInfo>;
  resizeExec(execId: string, size: TerminalSize, o?: CallOptions): Promise<void>;

  listImages(o?: CallOptions): Promise<ImageInfo[]>;
  /** By name, digest reference or id (or id prefix); NOT_FOUND when absent. */
  inspectImage(ref: string, o?: CallOptions): Promise<ImageInspectInfo>;
  /**
   * Starts a pull; the stream carries Docker's JSON-lines progress (an error may come inside it).
   * No deadline (the caller watches progress) and errors as Docker gave them: their words are all
   * there is to tell a missing image from a refused registry.
   */
  pullImage(
    fromImage: string,
    tag: string,
    auth: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<Readable>;
  /** Removes one reference (the image goes with its last one). */
  removeImage(ref: string, o?: CallOptions): Promise<void>;
  /** `docker import` of a tarball; answers the progress text read to its end. */
  importImage(tarball: Buffer, req: ImportRequest, o?: CallOptions): Promise<string>;
}
