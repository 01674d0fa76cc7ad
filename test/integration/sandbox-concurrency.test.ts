import { startShim, type TestShim } from '../support/shim';
import { podConfig, removeTestPods, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

// jest 30 ignores the project-level testTimeout in jest.config.js; Docker work needs more than 5 s.
jest.setTimeout(300_000);

describe('sandboxes in parallel', () => {
  let shim: TestShim;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('20 pods created at once all come up READY with distinct IPs and all go away', async () => {
    const configs = Array.from({ length: 20 }, (_, i) => podConfig(`many${i}`));
    const ids = (
      await Promise.all(
        configs.map((config) =>
          shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config }, 180_000),
        ),
      )
    ).map((r) => r.pod_sandbox_id);
    expect(new Set(ids).size).toBe(20);

    const statuses = await Promise.all(
      ids.map((id) =>
        shim.client.rt<{ status: { state: string; network: { ip: string } } }>('PodSandboxStatus', {
          pod_sandbox_id: id,
        }),
      ),
    );
    expect(statuses.every((s) => s.status.state === 'SANDBOX_READY')).toBe(true);
    const ips = statuses.map((s) => s.status.network.ip);
    expect(ips.every((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip))).toBe(true);
    expect(new Set(ips).size).toBe(20);

    const listed = await shim.client.rt<{ items: Array<{ id: string; state: string }> }>('ListPodSandbox', {
      filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
    });
    expect(listed.items.map((p) => p.id).sort()).toEqual([...ids].sort());
    expect(listed.items.every((p) => p.state === 'SANDBOX_READY')).toBe(true);

    // Stop and remove race on the same pod; every call succeeds and each pod ends up gone.
    await Promise.all(
      ids.flatMap((id) => [
        shim.client.rt('StopPodSandbox', { pod_sandbox_id: id }, 180_000),
        shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id }, 180_000),
        shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id }, 180_000),
      ]),
    );
    const after = await shim.client.rt<{ items: unknown[] }>('ListPodSandbox', {
      filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
    });
    expect(after.items).toEqual([]);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
    });
    expect(left).toEqual([]);
    expect(shim.app.deps.podLocks.size()).toBe(0);
  });
});
