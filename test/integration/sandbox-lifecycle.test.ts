import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { podConfig, removeTestPods, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

// jest 30 ignores the project-level testTimeout in jest.config.js; Docker work needs more than 5 s.
jest.setTimeout(300_000);

interface PodSandbox {
  id: string;
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  state: string;
  created_at: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtime_handler: string;
}
interface SandboxStatus extends PodSandbox {
  network: { ip: string; additional_ips: Array<{ ip: string }> };
  linux: { namespaces: { options: { network: string; pid: string; ipc: string } } };
}

describe('pod sandbox lifecycle through the CRI', () => {
  let shim: TestShim;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  const run = (config: object, runtime_handler = '') =>
    shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler });
  const statusOf = (id: string, verbose = false) =>
    shim.client.rt<{ status: SandboxStatus; info: Record<string, string> }>('PodSandboxStatus', {
      pod_sandbox_id: id,
      verbose,
    });
  const list = (filter: object = {}) =>
    shim.client.rt<{ items: PodSandbox[] }>('ListPodSandbox', { filter }).then((r) => r.items);

  it('runs a pod, reports it READY with an IP, stops and removes it idempotently', async () => {
    const cfg = podConfig('life', { annotations: { 'a.b/c': 'd' } });
    const before = BigInt(Date.now()) * 1_000_000n;
    const { pod_sandbox_id: id } = await run(cfg);
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const verbose = await statusOf(id, true);
    const st = verbose.status;
    const info = JSON.parse(verbose.info.info) as { pid: number; image: string; inspect: { Id: string } };
    expect(info.pid).toBeGreaterThan(0);
    expect(info.image).toBe('registry.k8s.io/pause:3.10');
    expect(info.inspect.Id).toBe(id);
    expect((await statusOf(id)).info).toEqual({});
    expect(st.id).toBe(id);
    expect(st.state).toBe('SANDBOX_READY');
    expect(st.metadata).toEqual(cfg.metadata);
    expect(st.labels).toEqual(cfg.labels);
    expect(st.annotations).toEqual({ 'a.b/c': 'd' });
    expect(st.network.ip).toMatch(/^172\.\d+\.\d+\.\d+$/);
    expect(BigInt(st.created_at)).toBeGreaterThanOrEqual(before - 1_000_000_000n);
    expect(st.linux.namespaces.options).toMatchObject({ network: 'POD', pid: 'POD', ipc: 'POD' });
    expect(st.runtime_handler).toBe('');

    // dockershim-compatible name and labels on the pause container
    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.Name).toBe(`/k8s_POD_${cfg.metadata.name}_dcri-test_${cfg.metadata.uid}_0`);
    expect(inspect.Config.Labels['io.kubernetes.docker.type']).toBe('podsandbox');
    expect(inspect.Config.Labels['io.kubernetes.container.name']).toBe('POD');
    expect(inspect.Config.Labels['annotation.a.b/c']).toBe('d');
    expect(inspect.HostConfig.IpcMode).toBe('shareable');
    expect(inspect.HostConfig.RestartPolicy?.Name).toBe('no');

    const listed = await list({ id });
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id,
      state: 'SANDBOX_READY',
      metadata: cfg.metadata,
      labels: cfg.labels,
    });
    expect(listed[0].created_at).toBe(st.created_at);

    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: id });
    expect((await statusOf(id)).status.state).toBe('SANDBOX_NOTREADY');
    expect((await list({ id }))[0].state).toBe('SANDBOX_NOTREADY');
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: id });

    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
    expect(await list({ id })).toEqual([]);
    expect((await grpcError(statusOf(id))).code).toBe(status.NOT_FOUND);
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: id });
  });

  it('filters the list by id prefix, state and labels', async () => {
    const a = podConfig('flt-a', {});
    a.labels.tier = 'front';
    const b = podConfig('flt-b', {});
    b.labels.tier = 'back';
    const [ra, rb] = await Promise.all([run(a), run(b)]);
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: rb.pod_sandbox_id });
    const mine = { [OWNER_LABEL]: TEST_OWNER };

    expect((await list({ id: ra.pod_sandbox_id.slice(0, 12) })).map((p) => p.id)).toEqual([
      ra.pod_sandbox_id,
    ]);
    expect(await list({ id: 'ffffffffffff0000' })).toEqual([]);
    const ready = await list({ state: { state: 'SANDBOX_READY' }, label_selector: mine });
    expect(ready.map((p) => p.id)).toContain(ra.pod_sandbox_id);
    expect(ready.map((p) => p.id)).not.toContain(rb.pod_sandbox_id);
    const notReady = await list({ state: { state: 'SANDBOX_NOTREADY' }, label_selector: mine });
    expect(notReady.map((p) => p.id)).toEqual([rb.pod_sandbox_id]);
    expect((await list({ label_selector: { ...mine, tier: 'front' } })).map((p) => p.id)).toEqual([
      ra.pod_sandbox_id,
    ]);
    expect(await list({ label_selector: { ...mine, tier: 'nope' } })).toEqual([]);

    // Status takes an unambiguous prefix too and answers with the full id.
    expect((await statusOf(rb.pod_sandbox_id.slice(0, 10))).status.id).toBe(rb.pod_sandbox_id);
    for (const id of [ra.pod_sandbox_id, rb.pod_sandbox_id]) {
      await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
    }
  });

  it('refuses bad requests with clear codes', async () => {
    const noMeta = podConfig('bad');
    delete (noMeta as Record<string, unknown>).metadata;
    const e1 = await grpcError(run(noMeta));
    expect(e1.code).toBe(status.INVALID_ARGUMENT);
    expect(e1.details).toMatch(/metadata/);

    const e2 = await grpcError(
      run({ ...podConfig('bad'), metadata: { name: 'x', namespace: 'y', uid: '' } }),
    );
    expect(e2.code).toBe(status.INVALID_ARGUMENT);
    expect(e2.details).toMatch(/metadata\.uid/);

    const e3 = await grpcError(run(podConfig('bad'), 'no-such-runtime'));
    expect(e3.code).toBe(status.INVALID_ARGUMENT);
    expect(e3.details).toMatch(/no-such-runtime/);

    const e4 = await grpcError(statusOf('0123456789abcdef'));
    expect(e4.code).toBe(status.NOT_FOUND);
    expect(e4.details).toMatch(/0123456789abcdef/);

    const e5 = await grpcError(shim.client.rt('StopPodSandbox', { pod_sandbox_id: '' }));
    expect(e5.code).toBe(status.INVALID_ARGUMENT);
    // Only hex ids reach Docker: a name or a path matches nothing (stop/remove succeed, as the
    // kubelet relies on; status is NOT_FOUND naming it).
    for (const method of ['StopPodSandbox', 'RemovePodSandbox']) {
      await shim.client.rt(method, { pod_sandbox_id: '../../etc/passwd' });
    }
    const e6 = await grpcError(shim.client.rt('PodSandboxStatus', { pod_sandbox_id: '../../etc/passwd' }));
    expect(e6.code).toBe(status.NOT_FOUND);
    expect(e6.details).toContain('../../etc/passwd');

    // Nothing half-made was left behind by the refused calls.
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
    });
    expect(left).toEqual([]);
  });

  it('takes a named runtime handler the engine has', async () => {
    const cfg = podConfig('rh');
    const { pod_sandbox_id: id } = await run(cfg, 'runc');
    const st = (await statusOf(id)).status;
    expect(st.runtime_handler).toBe('runc');
    expect((await list({ id }))[0].runtime_handler).toBe('runc');
    expect((await docker.getContainer(id).inspect()).HostConfig.Runtime).toBe('runc');
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
  });
  it('a restarted shim sees the pod as it was (state lives in Docker labels)', async () => {
    const cfg = podConfig('restart', { annotations: { x: 'y' } });
    const { pod_sandbox_id: id } = await run(cfg, 'runc');
    const before = await statusOf(id);
    const listedBefore = await list({ id });
    await shim.stop();
    shim = await startShim();
    const after = await statusOf(id);
    expect(after.status).toEqual(before.status);
    expect(await list({ id })).toEqual(listedBefore);
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
  });
});
