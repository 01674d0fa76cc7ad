import Dockerode from 'dockerode';
import { logger } from '../logger';
import { toCriError } from './errors';
import { MAX_TIMER_MS, isUnbounded, setClampedTimeout } from '../concurrency/timer';

/**
 * How much longer than a call's deadline its socket may stay silent before it is freed. Only a
 * backstop: call() enforces the deadline itself.
 */
export const IDLE_BACKSTOP_MS = 30_000;

export interface DockerConnection {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

/** Turns `unix:///path`, `tcp://host:port` or `http://host:port` into dockerode's options. */
export function parseDockerEndpoint(endpoint: string): DockerConnection {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  const m = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(endpoint);
  if (!m) throw new Error(`unsupported docker endpoint "${endpoint}" (use unix:///path or tcp://host:port)`);
  return { host: m[2], port: Number(m[3]), protocol: m[1] === 'https' ? 'https' : 'http' };
}

/** Called after each Docker call; metrics hook in here. */
export type DockerCallObserver = (op: string, seconds: number, ok: boolean) => void;

/**
 * The only door to the engine. Unversioned API paths let the engine answer with its own newest API
 * version, which is how we stay compatible with Docker 20.10 (API 1.41) and later without pinning.
 */
export class DockerClient {
  /** For calls that must answer within the call timeout. */
  readonly api: Dockerode;
  /** For long-lived streams (events, logs, attach, pulls) that may be idle for a long time. */
  readonly stream: Dockerode;
  private observers: DockerCallObserver[] = [];
  private readonly conn: DockerConnection;
  /** Clients for deadlines longer than the call timeout, by deadline class (see clientFor). */
  private readonly longer = new Map<number, Dockerode>();

  constructor(
    readonly endpoint: string,
    readonly callTimeoutMs: number,
    /** Tests shorten it; see IDLE_BACKSTOP_MS. */
    private readonly idleBackstopMs = IDLE_BACKSTOP_MS,
  ) {
    this.conn = parseDockerEndpoint(endpoint);
    this.api = this.idleTimeoutClient(callTimeoutMs);
    this.stream = new Dockerode({ ...this.conn });
  }

  /**
   * A socket idle timeout ends the call with "socket hang up", so a call whose deadline is longer
   * than the call timeout (a stop with a long grace period, a checkpoint) must not run on `api`: it
   * gets a client whose idle timeout outlasts its deadline. Deadlines are put in classes (the next
   * power of two seconds), so a few clients serve every grace period a kubelet sends.
   */
  clientFor(timeoutMs: number): Dockerode {
    if (timeoutMs <= this.callTimeoutMs) return this.api;
    if (isUnbounded(timeoutMs + this.idleBackstopMs)) return this.stream;
    const cls = Math.min(2 ** Math.ceil(Math.log2(Math.max(1, timeoutMs / 1000))) * 1000, MAX_TIMER_MS);
    let d = this.longer.get(cls);
    if (!d) {
      d = this.idleTimeoutClient(cls);
      this.longer.set(cls, d);
    }
    return d;
  }

  private idleTimeoutClient(deadlineMs: number): Dockerode {
    const idle = deadlineMs + this.idleBackstopMs;
    // No idle timeout at all rather than one Node would cut to its largest timer.
    return isUnbounded(idle)
      ? new Dockerode({ ...this.conn })
      : new Dockerode({ ...this.conn, timeout: idle });
  }

  onCall(observer: DockerCallObserver): void {
    this.observers.push(observer);
  }

  /**
   * Runs one Docker call with a debug log line and converts its failure into a CriError naming
   * `context` (for example `container "abc"`).
   */
  async call<T>(
    op: string,
    context: string | undefined,
    fn: (d: Dockerode) => Promise<T>,
    timeoutMs = this.callTimeoutMs,
  ): Promise<T> {
    const start = process.hrtime.bigint();
    let ok = false;
    try {
      const result = await withTimeout(fn(this.clientFor(timeoutMs)), timeoutMs, `docker ${op}`);
      ok = true;
      return result;
    } catch (err) {
      throw toCriError(err, context);
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // Guarded: winston builds and pipes an entry through its streams before it drops a level.
      if (logger.isDebugEnabled()) {
        logger.debug('docker call', { docker: op, context, durationMs: Math.round(seconds * 1e6) / 1e3, ok });
      }
      for (const o of this.observers) o(op, seconds, ok);
    }
  }

  ping(timeoutMs: number): Promise<void> {
    return this.call(
      'ping',
      'docker engine',
      async (d) => {
        await d.ping();
      },
      timeoutMs,
    );
  }
}

/** `p`, or a DOCKER_TIMEOUT failure after `ms` (clamped: a huge deadline never fires after 1 ms). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setClampedTimeout(() => {
      const err = new Error(`${what} took longer than ${ms} ms`) as Error & { code: string };
      err.code = 'DOCKER_TIMEOUT';
      reject(err);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
