import http from 'http';
import type { Duplex } from 'stream';
import { SpdySession, type SpdyStream } from '../../src/streaming/spdy-session';

/** The client side of a streaming URL over SPDY/3.1, as kubectl and crictl speak it. */
export interface SpdyConnection {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Response body when the server refused the upgrade. */
  body: string;
  /** The version the server chose (X-Stream-Protocol-Version). */
  protocol?: string;
  session?: SpdySession;
}

export function spdyConnect(url: string, protocols: string[]): Promise<SpdyConnection> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' };
    if (protocols.length > 0) headers['X-Stream-Protocol-Version'] = protocols;
    const req = http.request(url, { method: 'POST', headers });
    req.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const p = res.headers['x-stream-protocol-version'];
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        protocol: Array.isArray(p) ? p[0] : p,
        session: new SpdySession(socket, 'client', head),
      });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function collect(stream: SpdyStream | undefined): Promise<Buffer> {
  if (!stream) return Promise.resolve(Buffer.alloc(0));
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

export interface RemoteCommandOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  protocols?: string[];
}

export interface RemoteCommand {
  protocol?: string;
  session: SpdySession;
  stdin?: SpdyStream;
  resize?: SpdyStream;
  /** Everything the session produced, once the server closed the streams. */
  result: Promise<{ stdout: Buffer; stderr: Buffer; error: string }>;
}

/**
 * Opens an exec/attach session the way Kubernetes' remotecommand client does: error stream first,
 * then stdin, stdout, stderr (not with a TTY) and resize (TTY, v3+), each waiting for its SYN_REPLY.
 */
export async function remoteCommand(url: string, opts: RemoteCommandOptions = {}): Promise<RemoteCommand> {
  const o = { stdin: false, stdout: true, stderr: true, tty: false, ...opts };
  const conn = await spdyConnect(url, o.protocols ?? ['v4.channel.k8s.io']);
  if (conn.status !== 101 || !conn.session) {
    throw new Error(`upgrade refused: ${conn.status} ${conn.body}`);
  }
  const session = conn.session;
  const open = async (type: string): Promise<SpdyStream> => {
    const s = session.openStream({ streamtype: [type] });
    await s.waitReply();
    return s;
  };
  const error = await open('error');
  error.end();
  const stdin = o.stdin ? await open('stdin') : undefined;
  const stdout = o.stdout ? await open('stdout') : undefined;
  if (stdout) stdout.end();
  const stderr = o.stderr && !o.tty ? await open('stderr') : undefined;
  if (stderr) stderr.end();
  const resize = o.tty ? await open('resize') : undefined;
  const result = Promise.all([collect(stdout), collect(stderr), collect(error)]).then(([out, err, e]) => ({
    stdout: out,
    stderr: err,
    error: e.toString('utf8'),
  }));
  return { protocol: conn.protocol, session, stdin, resize, result };
}
