import fs from 'fs';
import net from 'net';
import path from 'path';
import { criServiceDefinition, MAX_MESSAGE_BYTES } from './grpc/proto';
import { H2GrpcServer } from './grpc/h2-server';
import type { AnyHandler, ServiceDefinition } from './grpc/server-calls';
import { unimplementedStream, unimplementedUnary } from './grpc/handler';
import { logger } from './logger';
import { useCachedListEncoding } from './grpc/list-encoding';
import { socketPath } from './config';
import { takeHandedSocket } from './socket-activation';
import { setClampedTimeout } from './concurrency/timer';

export type HandlerMap = Record<string, AnyHandler>;

/** Fills every method the service defines: ours where we have one, UNIMPLEMENTED otherwise. */
export function completeHandlers(def: ServiceDefinition, impls: HandlerMap): HandlerMap {
  const out: HandlerMap = {};
  for (const [name, method] of Object.entries(def)) {
    if (impls[name]) out[name] = impls[name];
    else out[name] = method.responseStream ? unimplementedStream(name) : unimplementedUnary(name);
  }
  for (const name of Object.keys(impls)) {
    if (!def[name]) throw new Error(`handler ${name} matches no method of the service`);
  }
  return out;
}

/** Refuses a socket that a live server answers on; removes a stale one. */
export async function claimSocket(socketPath: string): Promise<void> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  if (!fs.existsSync(socketPath)) return;
  const live = await new Promise<boolean>((resolve) => {
    const conn = net.connect(socketPath);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
  if (live) {
    throw new Error(
      `another server is already listening on ${socketPath}; stop it first or choose another socket`,
    );
  }
  logger.info('removing stale socket', { socket: socketPath });
  fs.unlinkSync(socketPath);
}

/** Where the CRI server listens: a path it binds and owns, or a socket systemd handed over. */
export type ListenTarget = { kind: 'path'; path: string } | { kind: 'fd'; fd: number };

/**
 * The endpoint flag and the environment, as a place to listen: a socket handed over by systemd
 * (LISTEN_FDS/LISTEN_PID) wins over a unix:// path, as the .socket unit owns that path then;
 * fd:// without a handed socket is an error (nothing to serve on).
 */
export function listenTarget(endpoint: string, env: NodeJS.ProcessEnv = process.env): ListenTarget {
  const fd = takeHandedSocket(env);
  if (fd !== undefined) return { kind: 'fd', fd };
  if (endpoint.startsWith('fd://')) {
    throw new Error(
      `--container-runtime-endpoint ${endpoint} needs a socket handed over by systemd (LISTEN_FDS/LISTEN_PID), and none was`,
    );
  }
  return { kind: 'path', path: socketPath(endpoint) };
}

/**
 * Binds the gRPC server on `socketPath` with mode 0660 from its first moment, without touching
 * the process-wide umask (other code may be creating files at the same time): the socket is made
 * in a private directory (0700) beside the target, chmod-ed there, then renamed into place.
 */
async function bindPrivately(server: H2GrpcServer, socketPath: string): Promise<void> {
  const dir = await fs.promises.mkdtemp(path.join(path.dirname(socketPath), '.docker-cri-bind-'));
  try {
    const temp = path.join(dir, 'cri.sock');
    await server.listen({ path: temp });
    // Only owner and group may talk to the runtime: the socket is as good as root on this node.
    await fs.promises.chmod(temp, 0o660);
    await fs.promises.rename(temp, socketPath);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

export class CriServer {
  private server: H2GrpcServer | undefined;
  private readonly target: ListenTarget;

  constructor(
    endpoint: string | ListenTarget,
    private readonly runtimeImpls: HandlerMap,
    private readonly imageImpls: HandlerMap,
  ) {
    this.target = typeof endpoint === 'string' ? listenTarget(endpoint) : endpoint;
  }

  async start(): Promise<void> {
    if (this.target.kind === 'path') await claimSocket(this.target.path);
    const runtimeService = criServiceDefinition('RuntimeService');
    const imageService = criServiceDefinition('ImageService');
    useCachedListEncoding(runtimeService);
    useCachedListEncoding(imageService);
    const server = new H2GrpcServer({ maxReceiveBytes: MAX_MESSAGE_BYTES, maxSendBytes: MAX_MESSAGE_BYTES });
    server.addService(runtimeService, completeHandlers(runtimeService, this.runtimeImpls));
    server.addService(imageService, completeHandlers(imageService, this.imageImpls));
    if (this.target.kind === 'path') {
      await bindPrivately(server, this.target.path);
      logger.info('serving CRI', { socket: this.target.path });
    } else {
      await server.listen({ fd: this.target.fd });
      logger.info('serving CRI on the socket systemd handed over', { fd: this.target.fd });
    }
    this.server = server;
  }

  /**
   * Stops taking calls, lets calls in flight finish (up to graceMs), then removes the socket it
   * bound. A handed socket stays: it is the .socket unit's, which keeps queueing connections for
   * the next start.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setClampedTimeout(() => {
          logger.warn('calls still in flight after the grace period; closing them', { graceMs });
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.target.kind !== 'path') return;
    try {
      fs.unlinkSync(this.target.path);
    } catch {
      // already gone
    }
  }
}
