/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 and the SPDY/3.1 delta), pure: bytes in, frames
 * out and back. Header blocks travel here still compressed; spdy-zlib.ts owns the one compression
 * context per direction that a connection needs, and the session feeds every block through it in
 * order.
 */
export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** 24-bit length field. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export const ControlType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;
type ControlTypeCode = (typeof ControlType)[keyof typeof ControlType];

export const RST_STATUS = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

export const GOAWAY_STATUS = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedId: number;
      priority: number;
      slot: number;
      flags: number;
      headerBlock: Buffer;
    }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: SettingsEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; controlType: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

const STREAM_ID_MASK = 0x7fffffff;

function controlHeader(type: ControlTypeCode, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`control frame payload ${length} too large`);
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt8(flags & 0xff, 4);
  b.writeUIntBE(length, 5, 3);
  return b;
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** One frame as wire bytes; header blocks must already be compressed. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case 'data': {
      if (frame.data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError('data frame too large');
      const h = Buffer.alloc(8);
      h.writeUInt32BE(frame.streamId & STREAM_ID_MASK, 0);
      h.writeUInt32BE((((frame.flags & 0xff) << 24) | frame.data.length) >>> 0, 4);
      return Buffer.concat([h, frame.data]);
    }
    case 'syn_stream': {
      const body = Buffer.alloc(10);
      body.writeUInt32BE(frame.streamId & STREAM_ID_MASK, 0);
      body.writeUInt32BE(frame.associatedId & STREAM_ID_MASK, 4);
      body.writeUInt8((frame.priority & 0x7) << 5, 8);
      body.writeUInt8(frame.slot & 0xff, 9);
      return Buffer.concat([
        controlHeader(ControlType.SynStream, frame.flags, 10 + frame.headerBlock.length),
        body,
        frame.headerBlock,
      ]);
    }
    case 'syn_reply':
    case 'headers': {
      const type = frame.type === 'syn_reply' ? ControlType.SynReply : ControlType.Headers;
      return Buffer.concat([
        controlHeader(type, frame.flags, 4 + frame.headerBlock.length),
        u32(frame.streamId & STREAM_ID_MASK),
        frame.headerBlock,
      ]);
    }
    case 'rst_stream':
      return Buffer.concat([
        controlHeader(ControlType.RstStream, 0, 8),
        u32(frame.streamId & STREAM_ID_MASK, frame.status),
      ]);
    case 'settings': {
      const body = Buffer.alloc(4 + 8 * frame.entries.length);
      body.writeUInt32BE(frame.entries.length, 0);
      frame.entries.forEach((e, i) => {
        body.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
        body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return Buffer.concat([controlHeader(ControlType.Settings, frame.flags, body.length), body]);
    }
    case 'ping':
      return Buffer.concat([controlHeader(ControlType.Ping, 0, 4), u32(frame.id)]);
    case 'goaway':
      return Buffer.concat([
        controlHeader(ControlType.GoAway, 0, 8),
        u32(frame.lastGoodStreamId & STREAM_ID_MASK, frame.status),
      ]);
    case 'window_update':
      return Buffer.concat([
        controlHeader(ControlType.WindowUpdate, 0, 8),
        u32(frame.streamId & STREAM_ID_MASK, frame.delta & STREAM_ID_MASK),
      ]);
    case 'unknown':
      throw new SpdyProtocolError(`cannot encode unknown control frame type ${frame.controlType}`);
  }
}

/**
 * Incremental decoder: feed it socket chunks in order, get whole frames back. Frames of a version
 * other than 3 are a protocol error (the caller answers with GOAWAY and closes).
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      if (this.buf.length < 8) break;
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + length) break;
      const raw = this.buf.subarray(0, 8 + length);
      this.buf = this.buf.subarray(8 + length);
      frames.push(decodeFrame(raw));
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  pending(): number {
    return this.buf.length;
  }
}

/** Decodes exactly one frame (8-byte header + payload). */
export function decodeFrame(raw: Buffer): Frame {
  const first = raw.readUInt32BE(0);
  const flags = raw.readUInt8(4);
  const length = raw.readUInt32BE(4) & 0xffffff;
  const payload = raw.subarray(8, 8 + length);
  if (payload.length !== length) throw new SpdyProtocolError('truncated frame');
  if ((first & 0x80000000) === 0) {
    // Copy: the payload must outlive the parser's buffer, which later chunks replace.
    return { type: 'data', streamId: first & STREAM_ID_MASK, flags, data: Buffer.from(payload) };
  }
  const version = (first >>> 16) & 0x7fff;
  const type = first & 0xffff;
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
  const need = (n: number): void => {
    if (length < n) throw new SpdyProtocolError(`control frame type ${type} too short (${length} bytes)`);
  };
  switch (type) {
    case ControlType.SynStream:
      need(10);
      return {
        type: 'syn_stream',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        associatedId: payload.readUInt32BE(4) & STREAM_ID_MASK,
        priority: payload.readUInt8(8) >>> 5,
        slot: payload.readUInt8(9),
        flags,
        headerBlock: Buffer.from(payload.subarray(10)),
      };
    case ControlType.SynReply:
    case ControlType.Headers:
      need(4);
      return {
        type: type === ControlType.SynReply ? 'syn_reply' : 'headers',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        flags,
        headerBlock: Buffer.from(payload.subarray(4)),
      };
    case ControlType.RstStream:
      need(8);
      return {
        type: 'rst_stream',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        status: payload.readUInt32BE(4),
      };
    case ControlType.Settings: {
      need(4);
      const n = payload.readUInt32BE(0);
      if (length !== 4 + 8 * n)
        throw new SpdyProtocolError(`SETTINGS length ${length} does not fit ${n} entries`);
      const entries: SettingsEntry[] = [];
      for (let i = 0; i < n; i++) {
        const idWord = payload.readUInt32BE(4 + i * 8);
        entries.push({ flags: idWord >>> 24, id: idWord & 0xffffff, value: payload.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case ControlType.Ping:
      need(4);
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case ControlType.GoAway:
      need(8);
      return {
        type: 'goaway',
        lastGoodStreamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        status: payload.readUInt32BE(4),
      };
    case ControlType.WindowUpdate:
      need(8);
      return {
        type: 'window_update',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        delta: payload.readUInt32BE(4) & STREAM_ID_MASK,
      };
    default:
      // SPDY says unknown control frames are ignored, so the caller may skip them.
      return { type: 'unknown', controlType: type, flags, payload: Buffer.from(payload) };
  }
}

/** Header names are lower case; several values of one name travel NUL-separated. */
export type HeaderMap = Record<string, string[]>;

/** The uncompressed name/value block of SPDY/3 (32-bit counts and lengths). */
export function encodeHeaderBlock(headers: HeaderMap): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [u32(names.length)];
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(headers[name].join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): HeaderMap {
  let pos = 0;
  const read32 = (): number => {
    if (pos + 4 > block.length) throw new SpdyProtocolError('header block truncated');
    const v = block.readUInt32BE(pos);
    pos += 4;
    return v;
  };
  const readStr = (): string => {
    const len = read32();
    if (pos + len > block.length) throw new SpdyProtocolError('header block truncated');
    const s = block.toString('utf8', pos, pos + len);
    pos += len;
    return s;
  };
  const count = read32();
  const out: HeaderMap = {};
  for (let i = 0; i < count; i++) {
    const name = readStr().toLowerCase();
    const values = readStr().split('\0');
    out[name] = [...(out[name] ?? []), ...values];
  }
  return out;
}
