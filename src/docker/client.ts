import Dockerode from 'dockerode';
import { logger } from '../logger';
import { toCriError } from './errors';

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

  constructor(
    readonly endpoint: string,
    readonly callTimeoutMs: number,
  ) {
    const conn = parseDockerEndpoint(endpoint);
    // The socket-level timeout is only a backstop that frees sockets; call() enforces the deadline.
    this.api = new Dockerode({ ...conn, timeout: callTimeoutMs + 30_000 });
    this.stream = new Dockerode({ ...conn });
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
      const result = await withTimeout(fn(this.api), timeoutMs, `docker ${op}`);
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

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what} took longer than ${ms} ms`) as Error & { code: string };
      err.code = 'DOCKER_TIMEOUT';
      reject(err);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
