import http from 'http';
import type { AddressInfo } from 'net';
import { status } from '@grpc/grpc-js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { onCallFinished } from './grpc/handler';
import type { DockerClient } from './docker/client';
import type { ContainerIndex } from './docker/container-index';
import { isContainerLabels, isSandboxLabels } from './translate/labels';
import { logger } from './logger';

/**
 * Prometheus metrics of docker-cri itself (not of the pods: those go through the CRI stats calls).
 * One registry per process; every App binds its Docker client and index to it.
 */
export const registry = new Registry();

/**
 * The process metrics (CPU, memory, event-loop lag, GC) cost a 10 ms event-loop-delay timer and
 * GC observers for the life of the process, about 0.7% of a core on an idle node: only when
 * someone can scrape them.
 */
let defaultsOn = false;
function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'docker_cri_' });
}

const rpcDuration = new Histogram({
  name: 'docker_cri_grpc_request_duration_seconds',
  help: 'CRI call latency by method and result code',
  labelNames: ['method', 'code'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});
const rpcRequests = new Counter({
  name: 'docker_cri_grpc_requests_total',
  help: 'CRI calls finished, by method and result code',
  labelNames: ['method', 'code'] as const,
  registers: [registry],
});
const rpcErrors = new Counter({
  name: 'docker_cri_grpc_errors_total',
  help: 'CRI calls that ended with a code other than OK, by method and code',
  labelNames: ['method', 'code'] as const,
  registers: [registry],
});
const dockerDuration = new Histogram({
  name: 'docker_cri_docker_call_duration_seconds',
  help: 'Docker Engine API call latency by operation',
  labelNames: ['operation'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});
const dockerErrors = new Counter({
  name: 'docker_cri_docker_call_errors_total',
  help: 'Docker Engine API calls that failed, by operation',
  labelNames: ['operation'] as const,
  registers: [registry],
});
const logBytes = new Counter({
  name: 'docker_cri_log_pump_bytes_total',
  help: 'Bytes of container output written to CRI log files, by stream',
  labelNames: ['stream'] as const,
  registers: [registry],
});
const logLag = new Histogram({
  name: 'docker_cri_log_pump_lag_seconds',
  help: 'Time from a log line being produced (its Docker timestamp) to it being written to the CRI log file',
  buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const logPumps = new Gauge({
  name: 'docker_cri_log_pumps',
  help: 'Log pumps currently copying a container output',
  registers: [registry],
});
const streamingActive = new Gauge({
  name: 'docker_cri_streaming_sessions',
  help: 'Streaming sessions open now, by kind (exec, attach, portforward)',
  labelNames: ['kind'] as const,
  registers: [registry],
});
const streamingTotal = new Counter({
  name: 'docker_cri_streaming_sessions_total',
  help: 'Streaming sessions opened, by kind (exec, attach, portforward)',
  labelNames: ['kind'] as const,
  registers: [registry],
});

const indexes = new Set<ContainerIndex>();
const SANDBOX_STATES = ['ready', 'notready'];
const CONTAINER_STATES = ['created', 'running', 'exited', 'unknown'];

/** Docker state → CRI state name, as ContainerStatus reports it. */
function containerState(docker: string): string {
  if (docker === 'created') return 'created';
  if (docker === 'running' || docker === 'paused' || docker === 'restarting') return 'running';
  if (docker === 'exited' || docker === 'dead') return 'exited';
  return 'unknown';
}

new Gauge({
  name: 'docker_cri_sandboxes',
  help: 'Pod sandboxes by state',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of SANDBOX_STATES) this.set({ state: s }, 0);
    for (const index of indexes) {
      for (const c of index.list()) {
        if (isSandboxLabels(c.labels)) this.inc({ state: c.state === 'running' ? 'ready' : 'notready' });
      }
    }
  },
});

new Gauge({
  name: 'docker_cri_containers',
  help: 'Containers (not sandboxes) by state',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of CONTAINER_STATES) this.set({ state: s }, 0);
    for (const index of indexes) {
      for (const c of index.list())
        if (isContainerLabels(c.labels)) this.inc({ state: containerState(c.state) });
    }
  },
});

onCallFinished((method, code, seconds) => {
  const codeName = status[code] ?? String(code);
  rpcDuration.observe({ method, code: codeName }, seconds);
  rpcRequests.inc({ method, code: codeName });
  if (code !== status.OK) rpcErrors.inc({ method, code: codeName });
});

export type StreamingKind = 'exec' | 'attach' | 'portforward';

/** What other components call to report into /metrics. */
export const metrics = {
  /** The log pump wrote `bytes` of a container's `stream` (stdout or stderr) to its CRI log file. */
  logPumpBytes(stream: string, bytes: number): void {
    logBytes.inc({ stream }, bytes);
  },
  /** Seconds between a line's Docker timestamp and its write to the CRI log file. */
  logPumpLag(seconds: number): void {
    if (seconds >= 0 && Number.isFinite(seconds)) logLag.observe(seconds);
  },
  /** A log pump started; call the returned function (once) when it ends. */
  logPumpStarted(): () => void {
    logPumps.inc();
    return once(() => logPumps.dec());
  },
  /** A streaming session opened; call the returned function (once) when it closes. */
  streamingSessionStarted(kind: StreamingKind): () => void {
    streamingTotal.inc({ kind });
    streamingActive.inc({ kind });
    return once(() => streamingActive.dec({ kind }));
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
  docker.onCall((operation, seconds, ok) => {
    dockerDuration.observe({ operation }, seconds);
    if (!ok) dockerErrors.inc({ operation });
  });
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
  collectProcessMetrics();
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
