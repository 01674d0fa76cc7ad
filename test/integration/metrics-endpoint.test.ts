import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { PodFactory } from './stats-helpers';
import { httpGet as get } from '../support/http-get';
import { metrics, metricsRegistry } from '../../src/metrics';
import { remoteCommand } from '../support/spdy-client';
import { eventually, StreamingFixtures } from './streaming-fixtures';
import { isContainerLabels, isSandboxLabels } from '../../src/translate/labels';

/** The endpoint's registry: served by the shim of this file, so it exists. */
function registry(): NonNullable<ReturnType<typeof metricsRegistry>> {
  const r = metricsRegistry();
  if (!r) throw new Error('no metrics endpoint is served');
  return r;
}

// The project-level testTimeout is not applied to every run; these tests poll a real engine.
jest.setTimeout(120_000);

/** What parse-prometheus-text-format returns (it ships no types). */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Family[];

describe('/metrics', () => {
  let shim: TestShim;
  const pods = new PodFactory();

  beforeAll(async () => {
    shim = await startShim({ metricsBindAddr: '127.0.0.1:0' });
  });
  afterAll(async () => {
    await pods.cleanup();
    await shim.stop();
  });

  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await get(shim.app.metrics!.url);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    return new Map(parsePrometheus(res.body).map((f) => [f.name, f]));
  };
  const value = (f: Family | undefined, labels: Record<string, string>): number => {
    const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m ? Number(m.value) : NaN;
  };

  it('is parsed by a Prometheus text parser and counts calls by method and code', async () => {
    expect(shim.app.metrics!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await shim.client.rt('Version', {});
    await shim.client.rt('Version', {});
    const err = await grpcError(shim.client.rt('ContainerStats', { container_id: '' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    await grpcError(shim.client.rt('CheckpointContainer', { container_id: 'x' }));

    const fams = await scrape();
    const requests = fams.get('docker_cri_grpc_requests_total');
    expect(requests?.type).toBe('COUNTER');
    expect(value(requests, { method: 'Version', code: 'OK' })).toBeGreaterThanOrEqual(2);
    const errors = fams.get('docker_cri_grpc_errors_total');
    expect(value(errors, { method: 'ContainerStats', code: 'INVALID_ARGUMENT' })).toBeGreaterThanOrEqual(1);
    expect(value(errors, { method: 'CheckpointContainer', code: 'UNIMPLEMENTED' })).toBeGreaterThanOrEqual(1);
    expect(errors?.metrics.some((m) => m.labels?.code === 'OK')).toBe(false);

    const latency = fams.get('docker_cri_grpc_request_duration_seconds');
    expect(latency?.type).toBe('HISTOGRAM');
    expect(latency?.help).toMatch(/latency/);
    // The text parser folds labelled histograms together; the registry's own view gives the series.
    const json = await registry().getMetricsAsJSON();
    const hist = json.find((m) => m.name === 'docker_cri_grpc_request_duration_seconds');
    const versionCount = hist?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName?.endsWith('_count') &&
        v.labels.method === 'Version' &&
        v.labels.code === 'OK',
    );
    expect(versionCount?.value).toBe(value(requests, { method: 'Version', code: 'OK' }));
    expect(fams.get('docker_cri_docker_call_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(fams.get('docker_cri_process_cpu_seconds_total')?.type).toBe('COUNTER');
  });

  it('counts sandboxes and containers by state from the index', async () => {
    const pod = await pods.sandbox('metrics');
    const running = await pods.container(pod, 'run', ['sleep', '3600']);
    const created = await pods.container(pod, 'wait', ['true'], { start: false });
    await Promise.all([pod.id, running, created].map((id) => shim.app.deps.index.refresh(id)));
    const index = shim.app.deps.index;
    expect(index.get(pod.id)?.state).toBe('running');
    expect(index.get(running)?.state).toBe('running');
    expect(index.get(created)?.state).toBe('created');
    // The gauges count what the index holds at the scrape. Other test files' containers on this
    // engine may change state meanwhile (a difference of two scrapes would count them), so each
    // scrape is compared with the index as it stands right after it, until one matches.
    let after = new Map<string, Family>();
    await eventually(async () => {
      const fams = await scrape();
      const list = index.list();
      const ready = list.filter((c) => isSandboxLabels(c.labels) && c.state === 'running').length;
      const byState = (states: string[]) =>
        list.filter((c) => isContainerLabels(c.labels) && states.includes(c.state)).length;
      const matches =
        value(fams.get('docker_cri_sandboxes'), { state: 'ready' }) === ready &&
        value(fams.get('docker_cri_containers'), { state: 'running' }) ===
          byState(['running', 'paused', 'restarting']) &&
        value(fams.get('docker_cri_containers'), { state: 'created' }) === byState(['created']);
      if (matches) after = fams;
      return matches;
    });
    expect(after.get('docker_cri_sandboxes')?.type).toBe('GAUGE');
    expect(value(after.get('docker_cri_sandboxes'), { state: 'ready' })).toBeGreaterThanOrEqual(1);
    expect(value(after.get('docker_cri_containers'), { state: 'running' })).toBeGreaterThanOrEqual(1);
    expect(value(after.get('docker_cri_containers'), { state: 'created' })).toBeGreaterThanOrEqual(1);
    expect(value(after.get('docker_cri_containers'), { state: 'unknown' })).toBeGreaterThanOrEqual(0);
    // Docker calls were timed by operation.
    const dockerJson = (await registry().getMetricsAsJSON()).find(
      (m) => m.name === 'docker_cri_docker_call_duration_seconds',
    );
    expect(dockerJson?.values.some((v) => v.labels.operation === 'container.list')).toBe(true);
  });

  it('exposes the log pump and streaming session counters other components report into', async () => {
    metrics.logPumpBytes('stdout', 100);
    metrics.logPumpBytes('stderr', 5);
    metrics.logPumpLag(0.02);
    const endPump = metrics.logPumpStarted();
    const end = metrics.streamingSessionStarted('exec');
    let fams = await scrape();
    expect(value(fams.get('docker_cri_log_pump_bytes_total'), { stream: 'stdout' })).toBeGreaterThanOrEqual(
      100,
    );
    expect(value(fams.get('docker_cri_streaming_sessions'), { kind: 'exec' })).toBeGreaterThanOrEqual(1);
    const open = value(fams.get('docker_cri_streaming_sessions'), { kind: 'exec' });
    end();
    end(); // idempotent
    endPump();
    fams = await scrape();
    expect(value(fams.get('docker_cri_streaming_sessions'), { kind: 'exec' })).toBe(open - 1);
    expect(value(fams.get('docker_cri_streaming_sessions_total'), { kind: 'exec' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(fams.get('docker_cri_log_pump_lag_seconds')?.type).toBe('HISTOGRAM');
  });

  it('counts a real streaming exec session while it is open', async () => {
    const fx = new StreamingFixtures(shim.app.docker.api);
    try {
      const box = await fx.container('metrics', ['sleep', '3600'], { HostConfig: { NetworkMode: 'none' } });
      const open = async (): Promise<number> =>
        value((await scrape()).get('docker_cri_streaming_sessions'), { kind: 'exec' }) || 0;
      const total = async (): Promise<number> =>
        value((await scrape()).get('docker_cri_streaming_sessions_total'), { kind: 'exec' }) || 0;
      const [openBefore, totalBefore] = [await open(), await total()];
      const { url } = await shim.client.rt<{ url: string }>('Exec', {
        container_id: box,
        cmd: ['sleep', '300'],
        stdin: true,
        stdout: true,
      });
      const rc = await remoteCommand(url, { stdin: true, stderr: false });
      await eventually(async () => (await open()) === openBefore + 1);
      expect(await total()).toBe(totalBefore + 1);
      rc.session.destroy();
      await eventually(async () => (await open()) === openBefore);
    } finally {
      await fx.removeAll();
    }
  });

  it('answers 404 elsewhere, and is off without --metrics-bind-addr', async () => {
    const base = shim.app.metrics!.url.replace(/\/metrics$/, '');
    expect((await get(`${base}/`)).status).toBe(404);
    const plain = await startShim();
    try {
      expect(plain.app.metrics).toBeUndefined();
    } finally {
      await plain.stop();
    }
  });

  it('refuses a malformed bind address at start', async () => {
    await expect(startShim({ metricsBindAddr: 'nonsense' })).rejects.toThrow(/metrics-bind-addr/);
  });
});
