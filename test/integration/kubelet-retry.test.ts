import os from 'os';
import path from 'path';
import fs from 'fs';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { podConfig, removeTestPods, testDocker, testEngineSocket } from '../support/pod-config';
import { startDelayingProxy, type DelayingProxy } from '../support/delaying-proxy';
import { Cri } from './container-support';

jest.setTimeout(180_000);

/** Longer than the first call's deadline: Docker is still creating when the client gives up. */
const CREATE_DELAY_MS = 3_000;
const SHORT_DEADLINE_MS = 1_000;

/**
 * The kubelet's retry after a deadline: RunPodSandbox or CreateContainer gives up while Docker is
 * still creating (a proxy holds Docker's create back), and the kubelet calls again with the same
 * metadata. Never two Docker containers for one pod attempt or one container attempt.
 */
describe('a create retried after its deadline', () => {
  let shim: TestShim;
  let proxy: DelayingProxy;
  let dir: string;
  let cri: Cri;
  const docker = testDocker();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-retry-'));
    const engine = testEngineSocket();
    proxy = await startDelayingProxy(
      engine,
      path.join(dir, 'docker.sock'),
      /^POST \S*\/containers\/create[ ?]/,
    );
    shim = await startShim({ dockerEndpoint: proxy.endpoint });
    cri = new Cri(shim);
  });
  afterAll(async () => {
    proxy.delayMs = 0;
    await removeTestPods(shim.client);
    await shim.stop();
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const named = async (name: string) =>
    (await docker.listContainers({ all: true, filters: { name: [name] } })).filter(
      (c) => c.Names[0] === `/${name}` || c.Names[0].startsWith(`/${name}_`),
    );

  it('RunPodSandbox: one pause container, and the retry names it', async () => {
    const config = podConfig('retry');
    const md = config.metadata;
    const name = `k8s_POD_${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
    proxy.delayMs = CREATE_DELAY_MS;
    const heldBefore = proxy.held;
    const first = await grpcError(shim.client.rt('RunPodSandbox', { config }, SHORT_DEADLINE_MS));
    expect(first.code).toBe(status.DEADLINE_EXCEEDED);
    const retry = await grpcError(shim.client.rt('RunPodSandbox', { config }, 60_000));
    proxy.delayMs = 0;
    expect(proxy.held).toBeGreaterThan(heldBefore);

    const holders = await named(name);
    expect(holders).toHaveLength(1);
    expect(holders[0].State).toBe('running');
    // The pod is up under its one container, and the retry says which one that is.
    expect(retry.code).toBe(status.ALREADY_EXISTS);
    expect(retry.details).toContain(holders[0].Id);
    const listed = await shim.client.rt<{ items: Array<{ id: string }> }>('ListPodSandbox', {
      filter: { label_selector: { 'io.kubernetes.pod.uid': md.uid } },
    });
    expect(listed.items.map((p) => p.id)).toEqual([holders[0].Id]);
  });

  it('CreateContainer: one container, and the retry answers with it', async () => {
    const pod = await cri.pod('retryc');
    const config = cri.config('app', { command: ['sleep', '3600'] });
    const md = pod.config.metadata;
    const name = `k8s_app_${md.name}_${md.namespace}_${md.uid}_0`;
    const req = { pod_sandbox_id: pod.id, config, sandbox_config: pod.config };
    proxy.delayMs = CREATE_DELAY_MS;
    const first = await grpcError(shim.client.rt('CreateContainer', req, SHORT_DEADLINE_MS));
    expect(first.code).toBe(status.DEADLINE_EXCEEDED);
    const retry = await shim.client.rt<{ container_id: string }>('CreateContainer', req, 60_000);
    proxy.delayMs = 0;

    // The first call's container (created, never started) was replaced: one left, the answered one.
    const holders = await named(name);
    expect(holders.map((c) => c.Id)).toEqual([retry.container_id]);
    const listed = await cri.list({ pod_sandbox_id: pod.id });
    expect(listed.map((c) => c.id)).toEqual([retry.container_id]);

    // Once it runs, another create of the same attempt is refused naming it, and leaves it alone.
    await cri.start(retry.container_id);
    const again = await grpcError(shim.client.rt('CreateContainer', req, 60_000));
    expect(again.code).toBe(status.ALREADY_EXISTS);
    expect(again.details).toContain(retry.container_id);
    expect((await named(name)).map((c) => [c.Id, c.State])).toEqual([[retry.container_id, 'running']]);
  });

  it('RunPodSandbox of a stopped pod attempt replaces it with one new pause container', async () => {
    const pod = await cri.pod('again');
    const md = pod.config.metadata;
    const name = `k8s_POD_${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pod.id });
    const res = await shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config: pod.config });
    expect(res.pod_sandbox_id).not.toBe(pod.id);
    const holders = await named(name);
    expect(holders.map((c) => [c.Id, c.State])).toEqual([[res.pod_sandbox_id, 'running']]);
  });
});
