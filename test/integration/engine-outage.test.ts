import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { PrivateEngine } from '../support/private-engine';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { removeTestPods, testEngineSocket } from '../support/pod-config';
import { Cri } from './container-support';

interface Condition {
  type: string;
  status: boolean;
}

async function runtimeReady(shim: TestShim): Promise<boolean> {
  const res = await shim.client.rt<{ status: { conditions: Condition[] } }>('Status', {});
  return res.status.conditions.find((c) => c.type === 'RuntimeReady')!.status;
}

async function eventually(what: string, cond: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await cond().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('docker engine outage', () => {
  const engine = new PrivateEngine();
  let shim: TestShim;

  beforeAll(async () => {
    await engine.start();
    engine.copyImageFrom(process.env.DOCKER_HOST as string, 'busybox:latest');
    shim = await startShim({ dockerEndpoint: engine.endpoint, dockerCallTimeoutSeconds: 10 });
  });
  afterAll(async () => {
    await shim?.stop();
    await engine.destroy();
  });

  it('reports RuntimeReady false, fails calls with UNAVAILABLE, and recovers by itself', async () => {
    expect(await runtimeReady(shim)).toBe(true);
    // A container made while the shim watches, labelled the way Kubernetes containers are.
    const before = await engine.api().createContainer({
      Image: 'busybox:latest',
      Cmd: ['sleep', '600'],
      Labels: { 'io.kubernetes.docker.type': 'podsandbox', 'dcri-test': 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    await eventually(
      'index sees the first container',
      async () => shim.app.deps.index.get(before.id) !== undefined,
      10_000,
    );

    await engine.stop();
    const notReadyAfter = await eventually(
      'RuntimeReady false',
      async () => !(await runtimeReady(shim)),
      10_000,
    );
    expect(notReadyAfter).toBeLessThan(10_000);
    const t0 = Date.now();
    const err = await grpcError(shim.client.rt('Version', {}));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/docker engine/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const imgErr = await grpcError(shim.client.img('ListImages', {}));
    expect(imgErr.code).toBe(status.UNAVAILABLE);

    await engine.start();
    await eventually('RuntimeReady true again', () => runtimeReady(shim), 20_000);
    // A container made after the restart shows that the events stream and index reconnected.
    const after = await engine.api().createContainer({
      Image: 'busybox:latest',
      Cmd: ['true'],
      Labels: { 'io.kubernetes.docker.type': 'podsandbox', 'dcri-test': 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    await eventually(
      'index follows events again',
      async () => shim.app.deps.index.get(after.id) !== undefined,
      20_000,
    );
    expect(shim.app.deps.index.get(before.id)).toBeDefined();
    expect((await shim.client.rt<{ runtime_name: string }>('Version', {})).runtime_name).toBe('docker');
  });
});

/**
 * The engine unreachable (a proxy in front of the shared engine cuts every connection and refuses
 * new ones): every call that needs it answers UNAVAILABLE, none from memory, one test per call;
 * the few that need nothing of it answer; then the engine is back and the lists answer again.
 */
describe('docker engine unreachable: every call that needs it answers UNAVAILABLE', () => {
  let shim: TestShim;
  let proxy: FaultProxy;
  let dir: string;
  let ids: { pod: string; container: string };

  type Client = TestShim['client'];
  const CALLS: Array<[string, (c: Client) => Promise<unknown>]> = [
    ['ListContainers', (c) => c.rt('ListContainers', {})],
    ['ListPodSandbox', (c) => c.rt('ListPodSandbox', {})],
    ['ListContainerStats', (c) => c.rt('ListContainerStats', {})],
    ['ListPodSandboxStats', (c) => c.rt('ListPodSandboxStats', {})],
    ['ListPodSandboxMetrics', (c) => c.rt('ListPodSandboxMetrics', {})],
    ['ContainerStatus', (c) => c.rt('ContainerStatus', { container_id: ids.container })],
    ['PodSandboxStatus', (c) => c.rt('PodSandboxStatus', { pod_sandbox_id: ids.pod })],
    ['ContainerStats', (c) => c.rt('ContainerStats', { container_id: ids.container })],
    ['PodSandboxStats', (c) => c.rt('PodSandboxStats', { pod_sandbox_id: ids.pod })],
    ['ListImages', (c) => c.img('ListImages', {})],
    ['ImageStatus', (c) => c.img('ImageStatus', { image: { image: 'busybox:latest' } })],
    ['Version', (c) => c.rt('Version', {})],
    ['RuntimeConfig', (c) => c.rt('RuntimeConfig', {})],
    ['ImageFsInfo', (c) => c.img('ImageFsInfo', {})],
  ];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-outage-'));
    const engine = testEngineSocket();
    proxy = await startFaultProxy(engine, path.join(dir, 'docker.sock'));
    shim = await startShim({ dockerEndpoint: proxy.endpoint, dockerCallTimeoutSeconds: 10 });
    const cri = new Cri(shim);
    const pod = await cri.pod('outage');
    ids = { pod: pod.id, container: await cri.run(pod, 'exec sleep 3600') };
    proxy.refuse(true);
    await eventually('RuntimeReady false', async () => !(await runtimeReady(shim)), 20_000);
  });
  afterAll(async () => {
    proxy?.refuse(false);
    if (shim) await removeTestPods(shim.client);
    await shim?.stop();
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(CALLS)('%s', async (_name, call) => {
    const err = await grpcError(call(shim.client));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/docker engine/);
  });

  it.each([
    ['Status', (c: Client) => c.rt('Status', {})],
    ['ListMetricDescriptors', (c: Client) => c.rt('ListMetricDescriptors', {})],
    [
      'UpdateRuntimeConfig',
      (c: Client) => c.rt('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '' } } }),
    ],
  ])('%s answers: it needs nothing of the engine', async (_name, call) => {
    await expect(call(shim.client)).resolves.toBeDefined();
  });

  it('and once the engine is back, the lists answer again', async () => {
    proxy.refuse(false);
    await eventually('RuntimeReady true again', () => runtimeReady(shim), 30_000);
    // The index reconnects on its own schedule (within a second or so of the engine's return).
    const listed = async (): Promise<string[]> =>
      (
        await shim.client.rt<{ containers: Array<{ id: string }> }>('ListContainers', {
          filter: { id: ids.container },
        })
      ).containers.map((c) => c.id);
    await eventually('ListContainers answers', async () => (await listed()).length === 1, 30_000);
    expect(await listed()).toEqual([ids.container]);
  });
});
