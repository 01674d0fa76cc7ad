import crypto from 'crypto';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

// jest 30 ignores the project-level testTimeout in jest.config.js; Docker work needs more than 5 s.
jest.setTimeout(300_000);

interface Listed {
  id: string;
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * A node moving from cri-dockerd to docker-cri keeps its pods: a pause container made the way
 * cri-dockerd makes them (its labels and name, none of ours) is listed, reported, stopped and removed.
 */
describe('sandboxes made by cri-dockerd', () => {
  let shim: TestShim;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  async function listUntil(uid: string, want: (items: Listed[]) => boolean): Promise<Listed[]> {
    // The index learns of containers made behind its back from Docker's events: wait for them.
    for (;;) {
      const res = await shim.client.rt<{ items: Listed[] }>('ListPodSandbox', {
        filter: { label_selector: { 'io.kubernetes.pod.uid': uid } },
      });
      if (want(res.items)) return res.items;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('lists, reports, stops and removes a cri-dockerd pod and its container', async () => {
    const uid = crypto.randomUUID();
    const podName = `legacy-${uid.slice(0, 8)}`;
    const kubeletLabels = {
      'io.kubernetes.pod.name': podName,
      'io.kubernetes.pod.namespace': 'dcri-test',
      'io.kubernetes.pod.uid': uid,
      app: 'legacy',
      [OWNER_LABEL]: TEST_OWNER,
    };
    // Attempt 1 with the random suffix cri-dockerd adds on a name conflict.
    const pause = await docker.createContainer({
      name: `k8s_POD_${podName}_dcri-test_${uid}_1_0a1b2c3d`,
      Image: 'registry.k8s.io/pause:3.10',
      Labels: {
        ...kubeletLabels,
        'io.kubernetes.docker.type': 'podsandbox',
        'io.kubernetes.container.name': 'POD',
        'annotation.kubernetes.io/config.source': 'api',
        'annotation.kubernetes.io/config.seen': '2024-01-01T00:00:00Z',
      },
      HostConfig: { IpcMode: 'shareable', NetworkMode: 'default', RestartPolicy: { Name: 'no' } },
    });
    await pause.start();
    const work = await docker.createContainer({
      name: `k8s_app_${podName}_dcri-test_${uid}_0`,
      Image: 'busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: {
        ...kubeletLabels,
        'io.kubernetes.docker.type': 'container',
        'io.kubernetes.container.name': 'app',
        'io.kubernetes.sandbox.id': pause.id,
        'io.kubernetes.container.logpath': `/var/log/pods/dcri-test_${podName}_${uid}/app/0.log`,
      },
      HostConfig: { NetworkMode: `container:${pause.id}`, IpcMode: `container:${pause.id}` },
    });
    await work.start();

    const [listed] = await listUntil(uid, (items) => items.length === 1);
    expect(listed).toMatchObject({
      id: pause.id,
      state: 'SANDBOX_READY',
      metadata: { name: podName, namespace: 'dcri-test', uid, attempt: 1 },
      labels: kubeletLabels,
      annotations: {
        'kubernetes.io/config.source': 'api',
        'kubernetes.io/config.seen': '2024-01-01T00:00:00Z',
      },
    });

    const inspect = await pause.inspect();
    const st = await shim.client.rt<{
      status: Listed & {
        created_at: string;
        network: { ip: string };
        linux: { namespaces: { options: Record<string, string> } };
        runtime_handler: string;
      };
    }>('PodSandboxStatus', { pod_sandbox_id: pause.id });
    expect(st.status).toMatchObject({
      id: pause.id,
      state: 'SANDBOX_READY',
      metadata: { name: podName, namespace: 'dcri-test', uid, attempt: 1 },
      labels: kubeletLabels,
      runtime_handler: '',
    });
    expect(st.status.network.ip).toBe(inspect.NetworkSettings.Networks.bridge.IPAddress);
    expect(st.status.network.ip).not.toBe('');
    expect(st.status.linux.namespaces.options).toMatchObject({ network: 'POD', ipc: 'POD' });
    expect(BigInt(st.status.created_at) / 1_000_000_000n).toBe(
      BigInt(Math.floor(Date.parse(inspect.Created) / 1000)),
    );

    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pause.id });
    expect((await work.inspect()).State.Running).toBe(false);
    expect((await pause.inspect()).State.Running).toBe(false);
    await listUntil(uid, (items) => items[0]?.state === 'SANDBOX_NOTREADY');

    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pause.id });
    await expect(work.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(pause.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await listUntil(uid, (items) => items.length === 0)).toEqual([]);
  });
});
