import { startShim, type TestShim } from '../support/shim';
import { podConfig, removeTestPods, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

const PODS = Number(process.env.DCRI_CONCURRENT_PODS ?? 50);
const ROUNDS = Number(process.env.DCRI_CONCURRENT_ROUNDS ?? 2);

describe(`${PODS} pods created and removed concurrently, ${ROUNDS} rounds`, () => {
  let shim: TestShim;
  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  // One test per round, so that each round has the whole test timeout.
  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
    'round %i: no error, no cross-pod containers, nothing left behind',
    async () => {
      const pods = await Promise.all(
        Array.from({ length: PODS }, async () => {
          const config = podConfig('conc');
          const { pod_sandbox_id } = await shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
            config,
          });
          const { container_id } = await shim.client.rt<{ container_id: string }>('CreateContainer', {
            pod_sandbox_id,
            sandbox_config: config,
            config: {
              metadata: { name: 'app', attempt: 0 },
              image: { image: 'busybox:latest' },
              command: ['sleep', '600'],
              log_path: 'app.log',
            },
          });
          await shim.client.rt('StartContainer', { container_id });
          return { pod_sandbox_id, container_id, uid: config.metadata.uid };
        }),
      );
      for (const p of pods) {
        const listed = await shim.client.rt<{
          containers: Array<{ id: string; labels: Record<string, string> }>;
        }>('ListContainers', { filter: { pod_sandbox_id: p.pod_sandbox_id } });
        expect(listed.containers.map((c) => c.id)).toEqual([p.container_id]);
        const status = await shim.client.rt<{ status: { state: string; metadata: { uid: string } } }>(
          'PodSandboxStatus',
          {
            pod_sandbox_id: p.pod_sandbox_id,
          },
        );
        expect(status.status.state).toBe('SANDBOX_READY');
        expect(status.status.metadata.uid).toBe(p.uid);
      }
      await Promise.all(
        pods.map(async (p) => {
          await shim.client.rt('StopPodSandbox', { pod_sandbox_id: p.pod_sandbox_id });
          await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: p.pod_sandbox_id });
        }),
      );
      const left = await testDocker().listContainers({
        all: true,
        filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
      });
      expect(left).toHaveLength(0);
      for (const p of pods) {
        await expect(testDocker().getContainer(p.container_id).inspect()).rejects.toMatchObject({
          statusCode: 404,
        });
      }
      expect(shim.app.deps.podLocks.size()).toBe(0);
    },
  );
});
