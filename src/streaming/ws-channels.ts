import { PassThrough, Writable } from 'stream';
import type WebSocket from 'ws';
import type { Engine } from '../docker/engine';
import { forwardOne } from './port-forward';
import {
  errorChannelPayload,
  isBase64Protocol,
  parseTerminalSize,
  portPrefix,
  protocolVersion,
} from './protocol';
import type { PortForwardTarget } from './requests';
import { ResizeRelay, type SessionIO } from './session-io';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/**
 * Framing of Kubernetes channel WebSockets: every message starts with its channel, as a byte in
 * binary protocols or as an ASCII digit followed by base64 in the `base64.` ones.
 */
export class ChannelCodec {
  constructor(readonly base64: boolean) {}

  encode(channel: number, data: Buffer): Buffer | string {
    if (this.base64) return String.fromCharCode(48 + channel) + data.toString('base64');
    const out = Buffer.allocUnsafe(data.length + 1);
    out[0] = channel;
    data.copy(out, 1);
    return out;
  }

  decode(message: Buffer, isBinary: boolean): { channel: number; data: Buffer } | undefined {
    if (message.length === 0) return undefined;
    if (this.base64 && !isBinary) {
      const text = message.toString('latin1');
      return { channel: text.charCodeAt(0) - 48, data: Buffer.from(text.slice(1), 'base64') };
    }
    return { channel: message[0], data: message.subarray(1) };
  }
}

function toBuffer(raw: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

/** A Writable whose chunks go out as messages of one channel; the send callback is the backpressure. */
function channelWriter(ws: WebSocket, codec: ChannelCodec, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(codec.encode(channel, chunk), () => cb());
    },
  });
}

/** Exec/attach over a WebSocket (v1–v5 channel protocols). */
export function wsSessionIO(
  ws: WebSocket,
  want: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
): SessionIO {
  const protocol = ws.protocol || 'channel.k8s.io';
  const version = protocolVersion(protocol);
  const codec = new ChannelCodec(isBase64Protocol(protocol));
  const abort = new AbortController();
  const resize = new ResizeRelay();
  const stdin = want.stdin ? new PassThrough() : undefined;
  let finished = false;

  ws.on('message', (raw, isBinary) => {
    const msg = codec.decode(toBuffer(raw), isBinary);
    if (!msg) return;
    if (msg.channel === CHANNEL.stdin && stdin && !stdin.writableEnded) stdin.write(msg.data);
    else if (msg.channel === CHANNEL.resize) {
      const size = parseTerminalSize(msg.data.toString('utf8'));
      if (size) resize.emit(size);
    } else if (msg.channel === CHANNEL.close && version >= 5 && msg.data[0] === CHANNEL.stdin) {
      stdin?.end();
    }
  });
  ws.on('close', () => {
    if (stdin && !stdin.writableEnded) stdin.end();
    if (!finished) abort.abort();
  });
  ws.on('error', () => undefined);

  const stdout = want.stdout ? channelWriter(ws, codec, CHANNEL.stdout) : undefined;
  const stderr = want.stderr && !want.tty ? channelWriter(ws, codec, CHANNEL.stderr) : undefined;
  return {
    stdin,
    stdout,
    stderr,
    onResize: (l) => resize.on(l),
    signal: abort.signal,
    async finish(outcome) {
      if (finished) return;
      finished = true;
      await Promise.all([flush(stdout), flush(stderr)]);
      const payload = errorChannelPayload(outcome, version);
      if (payload && ws.readyState === ws.OPEN) {
        await new Promise<void>((resolve) => ws.send(codec.encode(CHANNEL.error, payload), () => resolve()));
      }
      ws.close(1000);
    },
  };
}

function flush(w: Writable | undefined): Promise<void> {
  if (!w) return Promise.resolve();
  return new Promise((resolve) => w.end(resolve));
}

/**
 * WebSocket port-forward: one connection per requested port for the life of the socket. Channel
 * 2i carries port i's data, 2i+1 its errors; each opens with the port as two little-endian bytes.
 */
export function serveWsPortForward(
  engine: Engine,
  target: PortForwardTarget,
  ws: WebSocket,
  ports: number[],
): void {
  const codec = new ChannelCodec(isBase64Protocol(ws.protocol));
  const abort = new AbortController();
  const inputs = ports.map(() => new PassThrough());
  ws.on('message', (raw, isBinary) => {
    const msg = codec.decode(toBuffer(raw), isBinary);
    if (!msg || msg.channel % 2 !== 0) return;
    inputs[msg.channel / 2]?.write(msg.data);
  });
  ws.on('close', () => {
    abort.abort();
    for (const i of inputs) i.end();
  });
  ws.on('error', () => undefined);
  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      ws.send(codec.encode(channel, data), () => resolve());
    });
  const all = ports.map(async (port, i) => {
    await send(2 * i, portPrefix(port));
    await send(2 * i + 1, portPrefix(port));
    const failure = await forwardOne(
      engine,
      target.sandboxId,
      port,
      inputs[i],
      channelWriter(ws, codec, 2 * i),
      abort.signal,
    );
    if (failure) await send(2 * i + 1, Buffer.from(failure));
  });
  void Promise.all(all).then(() => ws.close(1000));
}
