import { EventEmitter } from 'events';
import { Duplex } from 'stream';
import {
  encodeFrame,
  FLAG_FIN,
  FrameParser,
  GOAWAY_STATUS,
  RST_STATUS,
  SpdyProtocolError,
  type Frame,
  type HeaderMap,
} from './spdy-frames';
import { HeaderCompressor, HeaderDecompressor } from './spdy-zlib';
import { logger } from '../logger';

/** Largest DATA payload we send; the peer copes with any size, smaller frames interleave streams better. */
const MAX_DATA_CHUNK = 32 * 1024;
/** Consumed bytes after which we tell a flow-controlling peer it may send more. */
const WINDOW_UPDATE_THRESHOLD = 32 * 1024;
/** How long close() waits for the peer to hang up before it destroys the socket. */
const CLOSE_GRACE_MS = 5000;

/**
 * One SPDY stream as a Node Duplex: reading gives the peer's DATA, writing sends DATA, end() sends
 * FIN. Never emits 'error': a reset or a dead connection just ends it, so that a client going away
 * cannot crash a session.
 */
export class SpdyStream extends Duplex {
  private remoteDone = false;
  private localDone = false;
  private wasReset = false;
  private replyWaiters: Array<(h: HeaderMap | undefined) => void> = [];
  /** Headers of the SYN_REPLY (client role) once it arrived. */
  replyHeaders: HeaderMap | undefined;
  unconsumed = 0;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: HeaderMap,
  ) {
    super({ allowHalfOpen: true });
  }

  /** First value of a request header (names are lower case). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  get reset(): boolean {
    return this.wasReset;
  }

  get remoteClosed(): boolean {
    return this.remoteDone;
  }

  /** Resolves with the SYN_REPLY headers, or undefined when the stream died first (client role). */
  waitReply(): Promise<HeaderMap | undefined> {
    if (this.replyHeaders || this.wasReset || this.destroyed) return Promise.resolve(this.replyHeaders);
    return new Promise((resolve) => this.replyWaiters.push(resolve));
  }

  /** Aborts the stream with RST_STREAM. */
  cancel(status: number = RST_STATUS.CANCEL): void {
    if (this.wasReset) return;
    this.wasReset = true;
    void this.session.sendReset(this.id, status);
    this.finishRemote();
    this.destroy();
  }

  override _read(): void {
    this.session.resumeInput();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.wasReset || this.localDone) return cb();
    this.session.sendData(this.id, chunk, false).then(() => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.wasReset || this.localDone) return cb();
    this.localDone = true;
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => {
      this.session.maybeForget(this);
      cb();
    });
  }

  override _destroy(_err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.wasReset && !(this.localDone && this.remoteDone) && !this.session.isDead) {
      this.wasReset = true;
      void this.session.sendReset(this.id, RST_STATUS.CANCEL);
    }
    this.finishRemote();
    this.session.forget(this.id);
    // Never propagate an error: listeners learn of the end through 'close'.
    cb();
  }

  get bothClosed(): boolean {
    return this.localDone && this.remoteDone;
  }

  /** Session side: the peer's data. Returns false when the reader is full. */
  deliver(data: Buffer): boolean {
    if (this.remoteDone) return true;
    this.unconsumed += data.length;
    return this.push(data);
  }

  finishRemote(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.push(null);
  }

  onReset(): void {
    this.wasReset = true;
    this.localDone = true;
    this.finishRemote();
    this.resolveReply();
    this.destroy();
  }

  onReply(headers: HeaderMap): void {
    this.replyHeaders = headers;
    this.resolveReply();
  }

  private resolveReply(): void {
    const waiters = this.replyWaiters;
    this.replyWaiters = [];
    for (const w of waiters) w(this.replyHeaders);
  }
}

export type SpdyRole = 'server' | 'client';

/**
 * A SPDY/3.1 connection over an upgraded socket. The server role accepts the client's streams and
 * answers each SYN_STREAM with a SYN_REPLY at once (as Kubernetes' httpstream server does); the
 * client role (tests) opens them. Flow control is advisory: like Go's spdystream, which Kubernetes
 * clients use and which neither sends nor honours WINDOW_UPDATE, we never wait for send windows,
 * but we do grant window to peers that count it. TCP backpressure does the real work.
 * Events: 'stream' (SpdyStream) for the peer's new streams, 'goaway', 'close'.
 */
export class SpdySession extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private outbound: Promise<void> = Promise.resolve();
  private inbound: Promise<void> = Promise.resolve();
  private nextStreamId: number;
  private nextPingId: number;
  private lastRemoteStreamId = 0;
  private dead = false;
  private tornDown = false;
  private goneAway = false;
  private inputPaused = false;
  private connectionUnconsumed = 0;
  private readonly pingWaiters = new Map<number, () => void>();
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Duplex,
    readonly role: SpdyRole,
    head?: Buffer,
  ) {
    super();
    this.nextStreamId = role === 'client' ? 1 : 2;
    this.nextPingId = role === 'client' ? 1 : 2;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', (err) => {
      logger.debug('spdy connection error', { error: err.message });
      this.teardown();
    });
    // Frames already read are still being handled (header inflation is async): let them finish.
    socket.on('close', () => void this.inbound.then(() => this.teardown()));
    // The peer is done sending: let out what is queued, then hang up our side too (upgraded
    // sockets are half-open, nothing else would end them).
    socket.on('end', () => {
      void Promise.all([this.inbound, this.outbound]).then(() => {
        if (!this.socket.destroyed) this.socket.end();
        this.teardown();
      });
    });
    if (head && head.length > 0) this.onBytes(head);
  }

  get isDead(): boolean {
    return this.dead;
  }

  /** Client role: opens a stream with the given headers. */
  openStream(headers: HeaderMap, fin = false): SpdyStream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    if (fin) stream.end();
    void this.enqueue(async () =>
      encodeFrame({
        type: 'syn_stream',
        streamId: id,
        associatedId: 0,
        priority: 0,
        slot: 0,
        flags: 0,
        headerBlock: await this.compressor.compress(headers),
      }),
    );
    return stream;
  }

  /** Sends a PING and resolves when its echo arrives (or the connection dies). */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve) => {
      this.pingWaiters.set(id, resolve);
      void this.enqueue(() => encodeFrame({ type: 'ping', id }));
    });
  }

  sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    let last: Promise<void> = Promise.resolve();
    if (data.length === 0) {
      return this.enqueue(() => encodeFrame({ type: 'data', streamId, flags: fin ? FLAG_FIN : 0, data }));
    }
    for (let off = 0; off < data.length; off += MAX_DATA_CHUNK) {
      const piece = data.subarray(off, off + MAX_DATA_CHUNK);
      const isLast = off + MAX_DATA_CHUNK >= data.length;
      last = this.enqueue(() =>
        encodeFrame({ type: 'data', streamId, flags: fin && isLast ? FLAG_FIN : 0, data: piece }),
      );
    }
    return last;
  }

  sendReset(streamId: number, status: number): Promise<void> {
    return this.enqueue(() => encodeFrame({ type: 'rst_stream', streamId, status }));
  }

  /** Says goodbye (GOAWAY), lets queued frames out, then closes the socket. */
  async close(status: number = GOAWAY_STATUS.OK): Promise<void> {
    if (this.dead) return;
    if (!this.goneAway) {
      this.goneAway = true;
      await this.enqueue(() =>
        encodeFrame({ type: 'goaway', lastGoodStreamId: this.lastRemoteStreamId, status }),
      );
    }
    await this.outbound;
    if (this.dead) return;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  resumeInput(): void {
    if (this.inputPaused && !this.dead) {
      this.inputPaused = false;
      this.socket.resume();
    }
    this.grantWindows();
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  maybeForget(stream: SpdyStream): void {
    if (stream.bothClosed) this.streams.delete(stream.id);
  }

  /** Serializes everything we write: header compression is async, frame order is not negotiable. */
  private enqueue(make: () => Buffer | Promise<Buffer>): Promise<void> {
    const step = async (): Promise<void> => {
      if (this.dead) return;
      const bytes = await make();
      if (this.dead) return;
      if (!this.socket.write(bytes)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.socket.off('drain', done);
            this.socket.off('close', done);
            resolve();
          };
          this.socket.on('drain', done);
          this.socket.on('close', done);
        });
      }
    };
    const p = this.outbound.then(step).catch((err: unknown) => {
      logger.debug('spdy write failed', { error: (err as Error).message });
    });
    this.outbound = p;
    return p;
  }

  private onBytes(chunk: Buffer): void {
    if (this.dead) return;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.protocolError((err as Error).message);
      return;
    }
    for (const f of frames) {
      this.inbound = this.inbound
        .then(() => this.handle(f))
        .catch((err: unknown) => {
          this.protocolError((err as Error).message);
        });
    }
  }

  private protocolError(message: string): void {
    if (this.dead) return;
    logger.warn('spdy protocol error; closing the connection', { error: message });
    // Straight to the socket: the queue may be stuck behind the very frame that failed.
    this.socket.write(
      encodeFrame({
        type: 'goaway',
        lastGoodStreamId: this.lastRemoteStreamId,
        status: GOAWAY_STATUS.PROTOCOL_ERROR,
      }),
    );
    this.socket.end();
    this.teardown();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.dead) return;
    switch (frame.type) {
      case 'syn_stream': {
        // Always inflate, even for a refused stream: the peer's zlib context moved on with this block.
        const headers = await this.decompressor.decompress(frame.headerBlock);
        const expectOdd = this.role === 'server';
        if (frame.streamId === 0 || (frame.streamId % 2 === 1) !== expectOdd) {
          throw new SpdyProtocolError(`stream id ${frame.streamId} is not the peer's to open`);
        }
        if (frame.streamId <= this.lastRemoteStreamId || this.streams.has(frame.streamId)) {
          void this.sendReset(frame.streamId, RST_STATUS.PROTOCOL_ERROR);
          return;
        }
        this.lastRemoteStreamId = frame.streamId;
        if (this.goneAway) {
          void this.sendReset(frame.streamId, RST_STATUS.REFUSED_STREAM);
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers);
        this.streams.set(frame.streamId, stream);
        if (this.role === 'server') {
          void this.enqueue(async () =>
            encodeFrame({
              type: 'syn_reply',
              streamId: frame.streamId,
              flags: 0,
              headerBlock: await this.compressor.compress({}),
            }),
          );
        }
        if (frame.flags & FLAG_FIN) stream.finishRemote();
        this.emit('stream', stream);
        return;
      }
      case 'syn_reply': {
        const headers = await this.decompressor.decompress(frame.headerBlock);
        const stream = this.streams.get(frame.streamId);
        stream?.onReply(headers);
        if (stream && frame.flags & FLAG_FIN) stream.finishRemote();
        return;
      }
      case 'headers': {
        await this.decompressor.decompress(frame.headerBlock);
        const stream = this.streams.get(frame.streamId);
        if (stream && frame.flags & FLAG_FIN) stream.finishRemote();
        return;
      }
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return;
        if (frame.data.length > 0) {
          this.connectionUnconsumed += frame.data.length;
          if (!stream.deliver(frame.data) && !this.inputPaused) {
            this.inputPaused = true;
            this.socket.pause();
          }
        }
        if (frame.flags & FLAG_FIN) {
          stream.finishRemote();
          this.maybeForget(stream);
        }
        if (!this.inputPaused) this.grantWindows();
        return;
      }
      case 'rst_stream':
        this.streams.get(frame.streamId)?.onReset();
        return;
      case 'ping': {
        const mine = frame.id % 2 === (this.role === 'client' ? 1 : 0);
        if (mine) {
          this.pingWaiters.get(frame.id)?.();
          this.pingWaiters.delete(frame.id);
        } else {
          void this.enqueue(() => encodeFrame({ type: 'ping', id: frame.id }));
        }
        return;
      }
      case 'goaway':
        this.goneAway = true;
        this.emit('goaway', frame.lastGoodStreamId);
        return;
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  /** Tells a flow-controlling peer about the data we consumed. */
  private grantWindows(): void {
    if (this.dead) return;
    for (const s of this.streams.values()) {
      if (s.unconsumed >= WINDOW_UPDATE_THRESHOLD && !s.remoteClosed) {
        const delta = s.unconsumed;
        s.unconsumed = 0;
        void this.enqueue(() => encodeFrame({ type: 'window_update', streamId: s.id, delta }));
      }
    }
    if (this.connectionUnconsumed >= WINDOW_UPDATE_THRESHOLD) {
      const delta = this.connectionUnconsumed;
      this.connectionUnconsumed = 0;
      void this.enqueue(() => encodeFrame({ type: 'window_update', streamId: 0, delta }));
    }
  }

  private teardown(): void {
    this.dead = true;
    if (this.tornDown) return;
    this.tornDown = true;
    for (const st of [...this.streams.values()]) st.onReset();
    this.streams.clear();
    for (const w of this.pingWaiters.values()) w();
    this.pingWaiters.clear();
    this.compressor.close();
    this.decompressor.close();
    this.emit('close');
    this.resolveClosed();
  }
}
