import * as grpc from '@grpc/grpc-js';
import { loadCri } from '../../src/grpc/cri-package';
import { MAX_MESSAGE_BYTES } from '../../src/grpc/proto';

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
type AnyMethod = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;

/** A CRI client on the real unix socket, as the kubelet would use it. */
export class CriClient {
  readonly runtime: grpc.Client;
  readonly image: grpc.Client;

  constructor(readonly socketPath: string) {
    const cri = loadCri();
    const opts = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    };
    const target = `unix://${socketPath}`;
    this.runtime = new cri.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure(), opts);
    this.image = new cri.runtime.v1.ImageService(target, grpc.credentials.createInsecure(), opts);
  }

  private invoke<Res>(client: grpc.Client, method: string, req: object, timeoutMs: number): Promise<Res> {
    const fn = (client as unknown as Record<string, AnyMethod>)[method];
    if (typeof fn !== 'function') throw new Error(`no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as Res),
      );
    });
  }

  /** Calls a RuntimeService method; rejects with the grpc ServiceError (code, details). */
  rt<Res = Record<string, unknown>>(method: string, req: object = {}, timeoutMs = 60_000): Promise<Res> {
    return this.invoke<Res>(this.runtime, method, req, timeoutMs);
  }

  img<Res = Record<string, unknown>>(method: string, req: object = {}, timeoutMs = 60_000): Promise<Res> {
    return this.invoke<Res>(this.image, method, req, timeoutMs);
  }

  /**
   * Opens a server stream (RuntimeService, or ImageService with service 'image'); `collect` reads
   * it to the end and gives every chunk as it came.
   */
  openStream(
    method: string,
    req: object = {},
    service: 'runtime' | 'image' = 'runtime',
  ): grpc.ClientReadableStream<unknown> {
    const client = service === 'image' ? this.image : this.runtime;
    const fn = (
      client as unknown as Record<
        string,
        (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>
      >
    )[method];
    if (typeof fn !== 'function') throw new Error(`no method ${method}`);
    return fn.call(client, req, { deadline: Date.now() + 300_000 });
  }

  collect<Chunk = Record<string, unknown>>(
    method: string,
    req: object = {},
    service: 'runtime' | 'image' = 'runtime',
  ): Promise<Chunk[]> {
    const stream = this.openStream(method, req, service);
    return new Promise((resolve, reject) => {
      const chunks: Chunk[] = [];
      stream.on('data', (c: Chunk) => chunks.push(c));
      stream.on('error', reject);
      stream.on('end', () => resolve(chunks));
    });
  }

  /**
   * A server stream's messages as the bytes that came over the wire (each decoded message beside
   * them), to measure chunk sizes exactly.
   */
  collectRaw<Chunk = Record<string, unknown>>(
    method: string,
    req: object = {},
    service: 'runtime' | 'image' = 'runtime',
  ): Promise<Array<{ bytes: Buffer; message: Chunk }>> {
    const client = service === 'image' ? this.image : this.runtime;
    const def = (client.constructor as unknown as { service: grpc.ServiceDefinition }).service[method];
    const stream = client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      (b: Buffer) => b,
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + 300_000 },
    );
    return new Promise((resolve, reject) => {
      const out: Array<{ bytes: Buffer; message: Chunk }> = [];
      stream.on('data', (bytes: Buffer) =>
        out.push({ bytes, message: def.responseDeserialize(bytes) as Chunk }),
      );
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }
}

/** Resolves to the gRPC error of a call that must fail; throws if it succeeded. */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
