import fs from 'fs';
import net from 'net';
import path from 'path';
import * as grpc from '@grpc/grpc-js';
import { loadCri, MAX_MESSAGE_BYTES } from './grpc/proto';
import { unimplementedStream, unimplementedUnary } from './grpc/handler';
import { logger } from './logger';
import { useCachedListEncoding } from './grpc/list-encoding';

export type HandlerMap = Record<string, grpc.UntypedHandleCall>;

/** Fills every method the service defines: ours where we have one, UNIMPLEMENTED otherwise. */
export function completeHandlers(
  def: grpc.ServiceDefinition,
  impls: HandlerMap,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
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

export class CriServer {
  private server: grpc.Server | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly runtimeImpls: HandlerMap,
    private readonly imageImpls: HandlerMap,
  ) {}

  async start(): Promise<void> {
    await claimSocket(this.socketPath);
    const cri = loadCri();
    useCachedListEncoding(cri.runtime.v1.RuntimeService.service);
    useCachedListEncoding(cri.runtime.v1.ImageService.service);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    server.addService(
      cri.runtime.v1.RuntimeService.service,
      completeHandlers(cri.runtime.v1.RuntimeService.service, this.runtimeImpls),
    );
    server.addService(
      cri.runtime.v1.ImageService.service,
      completeHandlers(cri.runtime.v1.ImageService.service, this.imageImpls),
    );
    // Only owner and group may talk to the runtime: the socket is as good as root on this node.
    const oldMask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
          err ? reject(err) : resolve(),
        );
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(this.socketPath, 0o660);
    this.server = server;
    logger.info('serving CRI', { socket: this.socketPath });
  }

  /** Stops taking calls, lets calls in flight finish (up to graceMs), then removes the socket. */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
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
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }
}
