import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ContainerIndex } from './docker/container-index';
import { isContainerLabels, isSandboxLabels } from './translate/labels';

/** What the facade in metrics.ts counts itself, read at every scrape. */
export interface LiveCounts {
  logPumps(): number;
  streamingSessions(kind: string): number;
  indexes(): Iterable<ContainerIndex>;
}

/**
 * The Prometheus side of metrics.ts, loaded only once a metrics endpoint is asked for: with no
 * one to scrape them, prom-client's module and the per-call label lookups cost every node memory
 * (~2 MiB resident) and CPU for nothing.
 */
export function prometheusMetrics(live: LiveCounts) {
  const registry = new Registry();
  // Process metrics cost a 10 ms event-loop-delay timer and GC observers: only with an endpoint.
  collectDefaultMetrics({ register: registry, prefix: 'docker_cri_' });
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
  new Gauge({
    name: 'docker_cri_log_pumps',
    help: 'Log pumps currently copying a container output',
    registers: [registry],
    collect() {
      this.set(live.logPumps());
    },
  });
  new Gauge({
    name: 'docker_cri_streaming_sessions',
    help: 'Streaming sessions open now, by kind (exec, attach, portforward)',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const kind of STREAMING_KINDS) this.set({ kind }, live.streamingSessions(kind));
    },
  });
  const streamingTotal = new Counter({
    name: 'docker_cri_streaming_sessions_total',
    help: 'Streaming sessions opened, by kind (exec, attach, portforward)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  const STREAMING_KINDS = ['exec', 'attach', 'portforward'];
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
      for (const index of live.indexes()) {
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
      for (const index of live.indexes()) {
        for (const c of index.list())
          if (isContainerLabels(c.labels)) this.inc({ state: containerState(c.state) });
      }
    },
  });

  return {
    registry,
    call(method: string, code: string, ok: boolean, seconds: number): void {
      rpcDuration.observe({ method, code }, seconds);
      rpcRequests.inc({ method, code });
      if (!ok) rpcErrors.inc({ method, code });
    },
    docker(operation: string, seconds: number, ok: boolean): void {
      dockerDuration.observe({ operation }, seconds);
      if (!ok) dockerErrors.inc({ operation });
    },
    logBytes(stream: string, bytes: number): void {
      logBytes.inc({ stream }, bytes);
    },
    logLag(seconds: number): void {
      logLag.observe(seconds);
    },
    streamingOpened(kind: string): void {
      streamingTotal.inc({ kind });
    },
  };
}

export type PrometheusMetrics = ReturnType<typeof prometheusMetrics>;
