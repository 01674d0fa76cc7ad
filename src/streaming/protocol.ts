/**
 * The Kubernetes remote-command and port-forward protocol facts that do not depend on the transport.
 * Pure: no I/O.
 */

/** SPDY remote-command versions, newest first (kubelet's preference order). */
export const SPDY_EXEC_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
] as const;
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/**
 * WebSocket subprotocols for exec/attach, newest first. Kubernetes spells the text (base64) variants
 * `v4.base64.channel.k8s.io`; `base64.v4.channel.k8s.io` is accepted as well.
 */
export const WS_EXEC_PROTOCOLS: readonly string[] = ['v5', 'v4', 'v3', 'v2', ''].flatMap((v) => {
  const pre = v ? `${v}.` : '';
  return [
    `${pre}channel.k8s.io`,
    `${pre}base64.channel.k8s.io`,
    ...(v ? [`base64.${pre}channel.k8s.io`] : []),
  ];
});
/** The kubelet serves WebSocket port-forward under the v4 channel names (or with no subprotocol). */
export const WS_PORT_FORWARD_PROTOCOLS: readonly string[] = [
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'base64.v4.channel.k8s.io',
  'portforward.k8s.io',
  'base64.portforward.k8s.io',
];

export function isBase64Protocol(protocol: string | undefined): boolean {
  return !!protocol && protocol.includes('base64.');
}

/** The remote-command version number a protocol name stands for (1 for `channel.k8s.io`). */
export function protocolVersion(protocol: string): number {
  const m = /^(?:base64\.)?v(\d+)\.(?:base64\.)?channel\.k8s\.io$/.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/**
 * Header values as a client sent them (one or several headers, possibly comma-joined by Node) →
 * the individual protocol names.
 */
export function splitProtocols(values: string | string[] | undefined): string[] {
  const all = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export type Negotiation = { ok: true; protocol: string | undefined } | { ok: false };

/**
 * Picks the first protocol the client offers that the server supports, as Kubernetes' httpstream
 * does. A client that offers none predates negotiation: it gets the oldest protocol (undefined).
 */
export function negotiate(offered: string[], supported: readonly string[]): Negotiation {
  if (offered.length === 0) return { ok: true, protocol: undefined };
  const found = offered.find((p) => supported.includes(p));
  return found ? { ok: true, protocol: found } : { ok: false };
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * A resize message: Kubernetes sends `{"Width":W,"Height":H}`, other clients lower-case keys (Go's
 * JSON decoding accepts both, so we do too). Invalid messages give undefined.
 */
export function parseTerminalSize(json: string): TerminalSize | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  let width: unknown;
  let height: unknown;
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k.toLowerCase() === 'width') width = val;
    if (k.toLowerCase() === 'height') height = val;
  }
  const ok = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!ok(width) || !ok(height)) return undefined;
  return { width, height };
}

/**
 * Splits a byte stream of concatenated JSON objects (Go's json.Encoder writes one per resize,
 * newline-terminated, but a reader may see them cut anywhere) into whole objects.
 */
export class JsonObjectSplitter {
  private buf = '';

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let depth = 0;
    let start = -1;
    let inString = false;
    let escaped = false;
    let consumed = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') {
        if (depth === 0) start = i;
        depth++;
      } else if (c === '}' && depth > 0) {
        depth--;
        if (depth === 0) {
          out.push(this.buf.slice(start, i + 1));
          consumed = i + 1;
        }
      } else if (depth === 0) consumed = i + 1;
    }
    this.buf = this.buf.slice(consumed);
    // A peer that never closes a brace must not grow this forever.
    if (this.buf.length > 64 * 1024) this.buf = '';
    return out;
  }
}

/** How a session ended, whatever the transport. */
export type Outcome = { kind: 'exit'; code: number; command?: string[] } | { kind: 'error'; message: string };

/**
 * What goes on the error channel at the end. v4 and later: a JSON metav1.Status, always (kubectl
 * reads the exit code from it). Earlier versions: plain text, and nothing on success.
 */
export function errorChannelPayload(outcome: Outcome, version: number): Buffer | undefined {
  if (version >= 4) return Buffer.from(JSON.stringify(statusObject(outcome)));
  if (outcome.kind === 'exit' && outcome.code === 0) return undefined;
  return Buffer.from(outcomeMessage(outcome));
}

function outcomeMessage(outcome: Outcome): string {
  if (outcome.kind === 'error') return outcome.message;
  const what = outcome.command ? `error executing command [${outcome.command.join(' ')}], ` : '';
  return `command terminated with non-zero exit code: ${what}exit code ${outcome.code}`;
}

export function statusObject(outcome: Outcome): Record<string, unknown> {
  if (outcome.kind === 'exit' && outcome.code === 0) return { metadata: {}, status: 'Success' };
  if (outcome.kind === 'exit') {
    return {
      metadata: {},
      status: 'Failure',
      message: outcomeMessage(outcome),
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] },
    };
  }
  return { metadata: {}, status: 'Failure', message: outcome.message, reason: 'InternalError', code: 500 };
}

/** The two little-endian bytes that open every WebSocket port-forward channel. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

/** `?port=80&port=8080` (also comma lists) → ports; throws naming the bad value. */
export function parsePorts(values: string[]): number[] {
  const ports: number[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const s = v.trim();
    if (s === '') continue;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new Error(`invalid port "${s}"`);
    ports.push(n);
  }
  return ports;
}
