/**
 * The gRPC-over-HTTP/2 wire format, as far as a server of unary and server-streaming calls needs
 * it: length-prefixed messages, the grpc-timeout header and the grpc-message encoding. Pure: no
 * sockets here (h2-server.ts does the I/O).
 */

/** A message as it travels: one flag byte (1 = compressed), a 4-byte big-endian length, the bytes. */
export const PREFIX_BYTES = 5;

export interface WireMessage {
  compressed: boolean;
  bytes: Buffer;
}

export type SplitResult = { ok: true; messages: WireMessage[] } | { ok: false; reason: string };

/**
 * The messages of a request body, once the client has half-closed. A body that ends inside a
 * prefix or a message is malformed (the client stopped mid-message), as is a flag other than 0 or 1.
 */
export function splitMessages(body: Buffer): SplitResult {
  const messages: WireMessage[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < PREFIX_BYTES) {
      return {
        ok: false,
        reason: `the request ends inside a message prefix (${body.length - at} of 5 bytes)`,
      };
    }
    const flag = body[at];
    if (flag !== 0 && flag !== 1) return { ok: false, reason: `invalid message flag ${flag}` };
    const length = body.readUInt32BE(at + 1);
    const start = at + PREFIX_BYTES;
    if (body.length - start < length) {
      return {
        ok: false,
        reason: `the request ends inside a message (${body.length - start} of ${length} bytes)`,
      };
    }
    messages.push({ compressed: flag === 1, bytes: body.subarray(start, start + length) });
    at = start + length;
  }
  return { ok: true, messages };
}

/** One uncompressed message with its prefix, in one buffer (one DATA write). */
export function frameMessage(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, PREFIX_BYTES);
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * grpc-timeout ("<at most 8 digits><unit>", H M S m u n) in milliseconds; undefined when the
 * header is absent or not in that form (the call then has no deadline, as gRPC servers treat it).
 */
export function parseTimeout(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(header);
  if (!m) return undefined;
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]];
}

/**
 * grpc-message is percent-encoded: every byte of the UTF-8 text outside printable ASCII, and '%'
 * itself, becomes %XX. A message of plain ASCII (nearly every one) is returned as it is.
 */
export function encodeStatusMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
