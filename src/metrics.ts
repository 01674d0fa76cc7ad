import http from 'http';
import type { AddressInfo } from 'net';
import { status } from './grpc/status-codes';
import { onCallFinished } from './grpc/handler';
import type { DockerClient } from './docker/client';
import type { ContainerIndex } from './docker/container-index';
import type { PrometheusMetrics } from './metrics-prometheus';
import { logger } from './logger';

/**
 * Prometheus metrics of docker-cri itself (not of the pods: those go through the CRI stats calls).
 * Components report here always; the numbers are kept only once a metrics endpoint is served
 * (--metrics-bind-addr), when metrics-prometheus.ts is loaded. Gauges of what is open now (log
 * pumps, streaming sessions) are counted here from the start, so they are right whenever the
 * endpoint comes up.
 */
let prom: PrometheusMetrics | undefined;
let openPumps = 0;
const openSessions = new Map<string, number>();
const indexes = new Set<ContainerIndex>();

function prometheus(): PrometheusMetrics {
  if (!prom) {
    // Loaded here, not at the top: see the comment above.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { prometheusMetrics } = require('./metrics-prometheus') as typeof import('./metrics-prometheus');
    prom = prometheusMetrics({
      logPumps: () => openPumps,
      streamingSessions: (kind) => openSessions.get(kind) ?? 0,
      indexes: () => indexes,
    });
  }
  return prom;
}

/** The registry behind /metrics, once an endpoint is served (tests read it as JSON). */
export function metricsRegistry(): PrometheusMetrics['registry'] | undefined {
  return prom?.registry;
}

onCallFinished((method, code, seconds) => {
  prom?.call(method, status[code] ?? String(code), code === status.OK, seconds);
});

export type StreamingKind = 'exec' | 'attach' | 'portforward';

/** What other components call to report into /metrics. */
export const metrics = {
  /** The log pump wrote `bytes` of a container's `stream` (stdout or stderr) to its CRI log file. */
  logPumpBytes(stream: string, bytes: number): void {
    prom?.logBytes(stream, bytes);
  },
  /** Seconds between a line's Docker timestamp and its write to the CRI log file. */
  logPumpLag(seconds: number): void {
    if (seconds >= 0 && Number.isFinite(seconds)) prom?.logLag(seconds);
  },
  /** A log pump started; call the returned function (once) when it ends. */
  logPumpStarted(): () => void {
    openPumps++;
    return once(() => openPumps--);
  },
  /** A streaming session opened; call the returned function (once) when it closes. */
  streamingSessionStarted(kind: StreamingKind): () => void {
    prom?.streamingOpened(kind);
    openSessions.set(kind, (openSessions.get(kind) ?? 0) + 1);
    return once(() => openSessions.set(kind, (openSessions.get(kind) ?? 1) - 1));
  },
};

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

/** Times every Docker call of this client. */
export function observeDocker(docker: DockerClient): void {
  docker.onCall((operation, seconds, ok) => prom?.docker(operation, seconds, ok));
}

/** Counts the index's sandboxes and containers at every scrape; returns the undo. */
export function observeIndex(index: ContainerIndex): () => void {
  indexes.add(index);
  return () => indexes.delete(index);
}

export interface MetricsServer {
  /** http://host:port/metrics as bound (port 0 resolved). */
  url: string;
  close(): Promise<void>;
}

/** `host:port` or `[v6]:port` → listen options; a clear error for anything else. */
export function parseBindAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--metrics-bind-addr must be host:port, got "${addr}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Serves GET /metrics in the Prometheus text format. */
export async function startMetricsServer(bindAddr: string): Promise<MetricsServer> {
  const { host, port } = parseBindAddr(bindAddr);
  const { registry } = prometheus();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) =>
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? '' : text),
      (err: unknown) => {
        logger.warn('metrics scrape failed', { error: (err as Error).message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  logger.info('serving metrics', { url });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
