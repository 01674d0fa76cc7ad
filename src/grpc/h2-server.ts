import { EventEmitter } from 'events';
import http2 from 'http2';
import { Writable } from 'stream';
import zlib from 'zlib';
import { logger } from '../logger';
import { setClampedTimeout } from '../concurrency/timer';
import type {
  AnyHandler,
  MethodDefinition,
  StatusObject,
  StreamCall,
  StreamHandler,
  UnaryCall,
  UnaryHandler,
} from './server-calls';
import { status } from './status-codes';
import { encodeStatusMessage, frameMessage, parseTimeout, splitMessages } from './wire';

/**
 * A gRPC server of unary and server-streaming calls on node:http2, without @grpc/grpc-js. The CRI
 * has no other kind of call, and the kubelet makes 20-30 of them a second on a node at 110 pods:
 * grpc-js's server spends about twice what node's HTTP/2 does on each (its call objects, interceptor
 * stack, metadata and status objects), so this speaks the wire format itself
 * (`npm run bench call-cost` measures both against node's floor).
 *
 * What a client sees: the gRPC protocol over HTTP/2 (PROTOCOL-HTTP2 in grpc/grpc): length-prefixed
 * messages, gzip and deflate requests accepted, grpc-timeout honoured (DEADLINE_EXCEEDED), unknown
 * methods UNIMPLEMENTED, messages over the limit RESOURCE_EXHAUSTED, content types other than
 * application/grpc* answered 415, a graceful shutdown with GOAWAY that lets calls in flight finish.
 */

export interface H2ServerOptions {
  /** Largest request message accepted, in bytes (after decompression). */
  maxReceiveBytes: number;
  /** Largest response message sent, in bytes. */
  maxSendBytes: number;
}

interface Route {
  def: MethodDefinition;
  handler: AnyHandler;
}

const ACCEPT_ENCODING = 'identity,deflate,gzip';

function noop(): void {}

/**
 * A deadline's timer delay. Node keeps one timer list per distinct delay, and the kubelet's calls
 * arrive with a 2-minute deadline minus whatever microseconds passed: each a list of its own, made
 * and dropped per call. Past 10 s, a deadline is kept to the next whole second (never earlier), so
 * those calls share one list; shorter ones to the millisecond.
 */
export function deadlineDelay(timeoutMs: number): number {
  return timeoutMs > 10_000 ? Math.ceil(timeoutMs / 1000) * 1000 : Math.ceil(timeoutMs);
}

/** The response headers of every call; `fields` adds a trailers-only answer's status. */
function responseHeaders(fields?: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
  return {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-accept-encoding': ACCEPT_ENCODING,
    ...fields,
  };
}

/** Sends the OK trailers when the last DATA of a unary answer has gone; `this` is the stream. */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers({ 'grpc-status': '0' });
}

/**
 * One call's side of its HTTP/2 stream: headers once, messages, then exactly one status; a deadline
 * and the client going away end it early. Everything after the status is dropped.
 */
class Exchange {
  /** The status went out, or the stream is gone: nothing more is sent. */
  done = false;
  cancelled = false;
  private headersSent = false;
  private trailers: http2.OutgoingHttpHeaders | undefined;
  private timer: NodeJS.Timeout | undefined;
  onCancel: (() => void) | undefined;

  constructor(readonly stream: http2.ServerHttp2Stream) {}

  /** Watches the stream and the deadline; called once the request is read. */
  watch(timeoutMs: number | undefined): void {
    this.stream.once('close', () => this.gone());
    if (timeoutMs !== undefined) {
      this.timer = setClampedTimeout(() => {
        this.timer = undefined;
        if (this.done) return;
        this.sendStatus(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
        this.cancel();
      }, deadlineDelay(timeoutMs));
    }
  }

  /** The client reset the stream or the connection dropped before the status went out. */
  private gone(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.cancel();
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.onCancel?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private respondHeaders(): boolean {
    if (this.stream.destroyed || this.stream.closed) return false;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(responseHeaders(), { waitForTrailers: true });
      this.stream.once('wantTrailers', () => {
        this.stream.sendTrailers(this.trailers ?? { 'grpc-status': String(status.INTERNAL) });
      });
    }
    return true;
  }

  /** A unary answer: headers, the one message and OK, in as few writes as node allows. */
  answer(frame: Buffer): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    if (this.stream.destroyed || this.stream.closed) return;
    this.headersSent = true;
    this.stream.respond(responseHeaders(), { waitForTrailers: true });
    this.stream.once('wantTrailers', sendOkTrailers);
    this.stream.end(frame);
  }

  /** One message of a stream; `cb` when it was handed to the connection. */
  write(frame: Buffer, cb: (err?: Error | null) => void): void {
    if (this.done || !this.respondHeaders()) {
      cb();
      return;
    }
    this.stream.write(frame, cb);
  }

  /** Ends the call with `code`: trailers after what was sent, or a trailers-only answer. */
  sendStatus(code: status, details: string): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    if (this.stream.destroyed || this.stream.closed) return;
    const fields: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (details) fields['grpc-message'] = encodeStatusMessage(details);
    if (this.headersSent) {
      this.trailers = fields;
      this.stream.end();
      return;
    }
    this.headersSent = true;
    this.stream.respond(responseHeaders(fields), { endStream: true });
  }
}

class H2UnaryCall<Req> extends EventEmitter implements UnaryCall<Req> {
  constructor(
    readonly request: Req,
    private readonly exchange: Exchange,
  ) {
    super();
  }

  get cancelled(): boolean {
    return this.exchange.cancelled;
  }
}

class H2StreamCall<Req, Res> extends Writable implements StreamCall<Req, Res> {
  constructor(
    readonly request: Req,
    private readonly exchange: Exchange,
    private readonly def: MethodDefinition,
    private readonly maxSendBytes: number,
  ) {
    super({ objectMode: true });
    // A handler ends the call with a status by emitting it as 'error'; a failure of the writable
    // itself (a write after end) ends it as INTERNAL.
    this.on('error', (err: Partial<StatusObject> & { message?: string }) =>
      exchange.sendStatus(err.code ?? status.INTERNAL, err.details ?? err.message ?? ''),
    );
  }

  get cancelled(): boolean {
    return this.exchange.cancelled;
  }

  override _write(message: unknown, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.exchange.done) return cb();
    let payload: Buffer;
    try {
      payload = this.def.responseSerialize(message);
    } catch (err) {
      this.exchange.sendStatus(status.INTERNAL, `Error serializing response: ${(err as Error).message}`);
      return cb();
    }
    if (payload.length > this.maxSendBytes) {
      this.exchange.sendStatus(
        status.RESOURCE_EXHAUSTED,
        `Sent message larger than max (${payload.length} vs. ${this.maxSendBytes})`,
      );
      return cb();
    }
    this.exchange.write(frameMessage(payload), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.exchange.sendStatus(status.OK, '');
    cb();
  }
}

export class H2GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly server: http2.Http2Server;

  constructor(private readonly options: H2ServerOptions) {
    this.server = http2.createServer({
      // As grpc-js's server does: past node's per-connection limit (10 MiB of buffered frames) its
      // HTTP/2 refuses streams and degrades badly; the message limits bound what a call holds.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    });
    this.server.setTimeout(0);
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', (err) => logger.debug('CRI connection failed', { error: err.message }));
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream as http2.ServerHttp2Stream, headers));
  }

  /** Serves every method of a service with the handler of the same name. */
  addService(service: Record<string, MethodDefinition>, handlers: Record<string, AnyHandler>): void {
    for (const [name, def] of Object.entries(service)) {
      if (def.requestStream) throw new Error(`${def.path}: client-streaming calls are not served`);
      const handler = handlers[name];
      if (!handler) throw new Error(`no handler for ${def.path}`);
      this.routes.set(def.path, { def, handler });
    }
  }

  /** Listens on a unix socket path, or on a listening socket handed over as an fd. */
  listen(target: { path: string } | { fd: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(target, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => logger.warn('CRI socket failed', { error: err.message }));
        resolve();
      });
    });
  }

  /** Stops accepting; sends GOAWAY on every connection and calls back once their calls ended. */
  tryShutdown(cb: () => void): void {
    this.server.close(() => cb());
    for (const s of this.sessions) s.close();
  }

  /** Ends every connection at once, calls in flight with them. */
  forceShutdown(): void {
    for (const s of this.sessions) s.destroy();
    if (this.server.listening) this.server.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // Errors of a stream end in its 'close', which the exchange watches; unheard they would throw.
    stream.on('error', noop);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      // Read to the end (and drop), or the stream stays open, unread, as long as the connection.
      stream.resume();
      return;
    }
    const exchange = new Exchange(stream);
    const path = headers[':path'];
    const route = typeof path === 'string' ? this.routes.get(path) : undefined;
    if (!route) {
      exchange.sendStatus(status.UNIMPLEMENTED, `The server does not implement the method ${String(path)}`);
      stream.resume();
      return;
    }
    const limit = this.options.maxReceiveBytes;
    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      if (exchange.done) return;
      received += chunk.length;
      // Prefix bytes aside, a unary or server-streaming call carries one message.
      if (received > limit + 5) {
        exchange.sendStatus(
          status.RESOURCE_EXHAUSTED,
          `Received message larger than max (${received - 5} vs. ${limit})`,
        );
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => {
      if (exchange.done) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      const request = this.decodeRequest(route.def, body, headers, exchange);
      if (exchange.done) return;
      exchange.watch(parseTimeout(headers['grpc-timeout']));
      if (exchange.done) return;
      this.run(route, request, exchange);
    });
    // A client that resets the stream before half-closing never reaches 'end'.
  }

  /** The request message, or undefined with the exchange ended on its status. */
  private decodeRequest(
    def: MethodDefinition,
    body: Buffer,
    headers: http2.IncomingHttpHeaders,
    exchange: Exchange,
  ): unknown {
    const split = splitMessages(body);
    if (!split.ok) {
      exchange.sendStatus(status.INTERNAL, `malformed request: ${split.reason}`);
      return undefined;
    }
    if (split.messages.length !== 1) {
      exchange.sendStatus(
        status.INTERNAL,
        `${def.path} takes exactly one request message; the client sent ${split.messages.length}`,
      );
      return undefined;
    }
    const message = split.messages[0];
    let bytes = message.bytes;
    if (message.compressed) {
      const encoding = headers['grpc-encoding'];
      try {
        if (encoding === 'gzip')
          bytes = zlib.gunzipSync(bytes, { maxOutputLength: this.options.maxReceiveBytes });
        else if (encoding === 'deflate')
          bytes = zlib.inflateSync(bytes, { maxOutputLength: this.options.maxReceiveBytes });
        else {
          exchange.sendStatus(
            status.UNIMPLEMENTED,
            `compressed request with grpc-encoding ${String(encoding ?? 'identity')} is not supported (gzip, deflate are)`,
          );
          return undefined;
        }
      } catch (err) {
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        exchange.sendStatus(
          tooLarge ? status.RESOURCE_EXHAUSTED : status.INTERNAL,
          tooLarge
            ? `Received message larger than max (more than ${this.options.maxReceiveBytes} bytes decompressed)`
            : `Error decompressing request: ${(err as Error).message}`,
        );
        return undefined;
      }
    }
    try {
      return def.requestDeserialize(bytes);
    } catch (err) {
      exchange.sendStatus(status.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
      return undefined;
    }
  }

  private run(route: Route, request: unknown, exchange: Exchange): void {
    const { def } = route;
    if (def.responseStream) {
      const call = new H2StreamCall(request, exchange, def, this.options.maxSendBytes);
      exchange.onCancel = () => {
        call.emit('cancelled');
        call.destroy();
      };
      try {
        (route.handler as StreamHandler<unknown, unknown>)(call);
      } catch (err) {
        exchange.sendStatus(status.INTERNAL, (err as Error)?.message ?? String(err));
      }
      return;
    }
    const call = new H2UnaryCall(request, exchange);
    exchange.onCancel = () => call.emit('cancelled');
    const callback = (err: StatusObject | null, res?: unknown): void => {
      if (exchange.done) return;
      if (err) {
        exchange.sendStatus(err.code ?? status.UNKNOWN, err.details ?? '');
        return;
      }
      let payload: Buffer;
      try {
        payload = def.responseSerialize(res);
      } catch (e) {
        exchange.sendStatus(status.INTERNAL, `Error serializing response: ${(e as Error).message}`);
        return;
      }
      if (payload.length > this.options.maxSendBytes) {
        exchange.sendStatus(
          status.RESOURCE_EXHAUSTED,
          `Sent message larger than max (${payload.length} vs. ${this.options.maxSendBytes})`,
        );
        return;
      }
      exchange.answer(frameMessage(payload));
    };
    try {
      (route.handler as UnaryHandler<unknown, unknown>)(call, callback);
    } catch (err) {
      exchange.sendStatus(status.INTERNAL, (err as Error)?.message ?? String(err));
    }
  }
}
