import { removeTestPods } from '../support/pod-config';
import { startShim, type TestShim } from '../support/shim';
import { Cri, type CriContainerStatus } from './container-support';

jest.setTimeout(120_000);

interface SandboxStatusAnswer {
  status: { id: string; state: string };
  containers_statuses: CriContainerStatus[];
  timestamp: string;
}

/** PodSandboxStatus carries the pod's containers and when it looked: the evented PLEG needs both. */
describe('PodSandboxStatus containers_statuses and timestamp', () => {
  let shim: TestShim;
  let cri: Cri;

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  const sandboxStatus = (id: string): Promise<SandboxStatusAnswer> =>
    shim.client.rt<SandboxStatusAnswer>('PodSandboxStatus', { pod_sandbox_id: id });

  it('lists every container of the pod with the same status ContainerStatus gives, and only those', async () => {
    const pod = await cri.pod('ststatus');
    const other = await cri.pod('ststatus-other');
    const empty = await sandboxStatus(pod.id);
    expect(empty.containers_statuses).toEqual([]);

    const running = await cri.run(pod, 'sleep 3600');
    const exited = await cri.run(pod, 'exit 3');
    const created = await cri.create(pod);
    const elsewhere = await cri.run(other, 'sleep 3600');
    await cri.waitExited(exited);

    const before = BigInt(Date.now()) * 1_000_000n;
    const res = await sandboxStatus(pod.id);
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(BigInt(res.timestamp)).toBeGreaterThanOrEqual(before - 1_000_000n);
    expect(BigInt(res.timestamp)).toBeLessThanOrEqual(after + 1_000_000n);

    const byId = new Map(res.containers_statuses.map((s) => [s.id, s]));
    expect([...byId.keys()].sort()).toEqual([running, exited, created].sort());
    expect(byId.has(elsewhere)).toBe(false);
    expect(byId.get(running)!.state).toBe('CONTAINER_RUNNING');
    expect(byId.get(exited)!).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 3, reason: 'Error' });
    expect(byId.get(created)!.state).toBe('CONTAINER_CREATED');
    for (const id of [running, exited, created]) {
      expect(byId.get(id)).toEqual((await cri.status(id)).status);
    }

    // A removed container leaves the list; a stopped pod still reports its containers.
    await shim.client.rt('RemoveContainer', { container_id: created });
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pod.id });
    const stopped = await sandboxStatus(pod.id);
    expect(stopped.status.state).toBe('SANDBOX_NOTREADY');
    expect(stopped.containers_statuses.map((s) => s.id).sort()).toEqual([running, exited].sort());
    expect(stopped.containers_statuses.every((s) => s.state === 'CONTAINER_EXITED')).toBe(true);
    expect(BigInt(stopped.timestamp)).toBeGreaterThan(BigInt(res.timestamp));
  });
});
