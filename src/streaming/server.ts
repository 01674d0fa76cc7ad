import http from 'http';
import net, { type AddressInfo } from 'net';
import type { Duplex } from 'stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Engine } from '../docker/engine';
import { logger } from '../logger';
import { metrics } from '../metrics';
import { runAttach } from './attach-session';
import { runExec } from './exec-session';
import { serveSpdyPortForward } from './port-forward';
import {
  negotiate,
  parsePorts,
  PORT_FORWARD_PROTOCOL,
  SPDY_EXEC_PROTOCOLS,
  splitProtocols,
  WS_EXEC_PROTOCOLS,
  WS_PORT_FORWARD_PROTOCOLS,
} from './protocol';
import type { StreamTarget } from './requests';
import type { SessionIO } from './session-io';
import { spdySessionIO } from './spdy-remotecommand';
import { SpdySession } from './spdy-session';
import { TokenCache } from './token-cache';
import { serveWsPortForward, wsSessionIO } from './ws-channels';
import { clampDelay } from '../concurrency/timer';

/** As the kubelet's --streaming-connection-idle-timeout default. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 4 * 60 * 60 * 1000;

export interface StreamingOptions {
  /** A connection with no traffic either way for this long is closed; 0 never. */
  idleTimeoutMs?: number;
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)\/?$/;

/** `host:port` or `[v6]:port` → listen arguments. */
export function parseBindAddr(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`streaming bind address must be host:port, got "${addr}"`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1], port: Number(m[2]) };
}

/** The host part of our URLs: a wildcard bind is reachable on loopback by the local kubelet. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The HTTP server behind the URLs that Exec, Attach and PortForward return. Each URL carries a
 * single-use token; the connection upgrades to SPDY/3.1 (kubelet, crictl, kubectl through the API
 * server) or to WebSocket (newer clients), and the session then runs on Docker.
 */
export class StreamingServer {
  readonly tokens = new TokenCache<StreamTarget>();
  private readonly http: http.Server;
  private readonly wssExec: WebSocketServer;
  private readonly wssPortForward: WebSocketServer;
  private readonly live = new Set<Duplex>();
  private baseUrl = '';
  /** Applies to connections upgraded from then on (tests shorten it). */
  idleTimeoutMs: number;

  constructor(
    private readonly bindAddr: string,
    private readonly engine: Engine,
    options: StreamingOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
    this.http = http.createServer((req, res) => this.onPlainRequest(req, res));
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    // One server per protocol family: each picks the client's first subprotocol it speaks.
    const pick = (supported: readonly string[]) => (offered: Set<string>) =>
      [...offered].find((p) => supported.includes(p)) ?? false;
    this.wssExec = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: pick(WS_EXEC_PROTOCOLS),
    });
    this.wssPortForward = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: pick(WS_PORT_FORWARD_PROTOCOLS),
    });
  }

  async start(): Promise<void> {
    const { host, port } = parseBindAddr(this.bindAddr);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const addr = this.http.address() as AddressInfo;
    this.baseUrl = `http://${urlHost(host)}:${addr.port}`;
    logger.info('streaming server listening', { url: this.baseUrl });
  }

  async stop(): Promise<void> {
    for (const s of this.live) s.destroy();
    this.live.clear();
    for (const c of [...this.wssExec.clients, ...this.wssPortForward.clients]) c.terminate();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Stores the request under a new token; the absolute URL the client is to connect to. */
  urlFor(target: StreamTarget): string | undefined {
    const token = this.tokens.insert(target);
    if (!token) return undefined;
    return `${this.baseUrl}/${target.kind}/${token}`;
  }

  private lookup(url: string | undefined): StreamTarget | undefined {
    const path = (url ?? '').split('?')[0];
    const m = PATH.exec(path);
    if (!m) return undefined;
    const target = this.tokens.consume(m[2]);
    return target && target.kind === m[1] ? target : undefined;
  }

  private onPlainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = this.lookup(req.url);
    if (!target) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('unknown or expired streaming token\n');
      return;
    }
    res
      .writeHead(400, { 'Content-Type': 'text/plain' })
      .end('this URL needs an upgrade to SPDY/3.1 or WebSocket\n');
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const target = this.lookup(req.url);
    if (!target) return refuse(socket, 404, 'Not Found', {}, 'unknown or expired streaming token');
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, target);
    if (upgrade === 'spdy/3.1') return this.upgradeSpdy(req, socket, head, target);
    refuse(socket, 400, 'Bad Request', {}, `unsupported upgrade "${req.headers.upgrade ?? ''}"`);
  }

  private track(socket: Duplex): void {
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
  }

  /**
   * Closes the connection after idleTimeoutMs without a byte read or written. An exec session then
   * sees its client gone, which kills the command's process tree.
   */
  private closeWhenIdle(socket: Duplex, kind: string): void {
    const ms = this.idleTimeoutMs;
    if (!(socket instanceof net.Socket) || !(ms > 0)) return;
    socket.setTimeout(clampDelay(ms));
    socket.once('timeout', () => {
      logger.info('streaming connection idle: closed', { kind, idleTimeoutMs: ms });
      socket.destroy();
    });
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: StreamTarget): void {
    const supported = target.kind === 'portforward' ? [PORT_FORWARD_PROTOCOL] : SPDY_EXEC_PROTOCOLS;
    const offered = splitProtocols(req.headersDistinct['x-stream-protocol-version']);
    const chosen = negotiate(offered, supported);
    if (!chosen.ok) {
      return refuse(
        socket,
        403,
        'Forbidden',
        { 'X-Accepted-Stream-Protocol-Versions': [...supported] },
        `no common stream protocol: client offered ${offered.join(', ')}; server supports ${supported.join(', ')}`,
      );
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
    if (chosen.protocol) lines.push(`X-Stream-Protocol-Version: ${chosen.protocol}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    this.track(socket);
    this.closeWhenIdle(socket, target.kind);
    const session = new SpdySession(socket, 'server', head);
    logger.debug('spdy session', { kind: target.kind, protocol: chosen.protocol });
    if (target.kind === 'portforward') {
      serveSpdyPortForward(this.engine, target, session);
      const started = Date.now();
      const ended = metrics.streamingSessionStarted('portforward');
      void session.closed.then(() => {
        ended();
        logger.info('streaming session ended', {
          kind: target.kind,
          pod_sandbox_id: target.sandboxId,
          durationMs: Date.now() - started,
        });
      });
      return;
    }
    spdySessionIO(session, chosen.protocol, target).then(
      (io) => this.run(target, io),
      (err: Error) => {
        logger.info('streaming session did not start', { kind: target.kind, error: err.message });
        session.destroy();
      },
    );
  }

  private upgradeWebSocket(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: StreamTarget,
  ): void {
    let ports: number[] = [];
    if (target.kind === 'portforward') {
      try {
        const query = new URL(req.url ?? '/', 'http://x').searchParams;
        ports = parsePorts(query.getAll('port'));
      } catch (err) {
        return refuse(socket, 400, 'Bad Request', {}, (err as Error).message);
      }
      if (ports.length === 0) ports = target.ports;
      if (ports.length === 0) return refuse(socket, 400, 'Bad Request', {}, 'no port given (?port=N)');
    }
    this.track(socket);
    const wss = target.kind === 'portforward' ? this.wssPortForward : this.wssExec;
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      // Only now: ws clears the socket's timeout when it takes the socket over.
      this.closeWhenIdle(socket, target.kind);
      logger.debug('websocket session', { kind: target.kind, protocol: ws.protocol });
      if (target.kind === 'portforward') {
        ws.once('close', metrics.streamingSessionStarted('portforward'));
        serveWsPortForward(this.engine, target, ws, ports);
      } else this.run(target, wsSessionIO(ws, target));
    });
  }

  private run(target: StreamTarget, io: SessionIO): void {
    const started = Date.now();
    // Counted while the session runs: the /metrics gauge docker_cri_streaming_sessions.
    const ended = metrics.streamingSessionStarted(target.kind);
    const work =
      target.kind === 'exec'
        ? runExec(this.engine, target, io)
        : target.kind === 'attach'
          ? runAttach(this.engine, target, io)
          : Promise.resolve();
    work.finally(ended).then(
      () =>
        logger.info('streaming session ended', {
          kind: target.kind,
          container_id: target.kind === 'portforward' ? undefined : target.containerId,
          durationMs: Date.now() - started,
          clientGone: io.signal.aborted,
        }),
      (err: Error) => logger.error('streaming session failed', { error: err.stack ?? err.message }),
    );
  }
}

function refuse(
  socket: Duplex,
  code: number,
  reason: string,
  headers: Record<string, string[]>,
  body: string,
): void {
  const lines = [
    `HTTP/1.1 ${code} ${reason}`,
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body) + 1}`,
  ];
  for (const [k, vs] of Object.entries(headers)) for (const v of vs) lines.push(`${k}: ${v}`);
  lines.push('Connection: close');
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body + '\n');
}
