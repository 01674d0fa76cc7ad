import { status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri } from './container-support';

describe('containers under concurrent calls', () => {
  let shim: TestShim;
  let cri: Cri;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('creates many containers in two pods at once, each with its own name', async () => {
    const pods = await Promise.all([cri.pod('par-a'), cri.pod('par-b')]);
    const ids = await Promise.all(
      pods.flatMap((p) => Array.from({ length: 8 }, (_, i) => cri.create(p, { command: ['true'] }, `n${i}`))),
    );
    expect(new Set(ids).size).toBe(16);
    for (const p of pods) {
      const listed = await cri.list({ pod_sandbox_id: p.id });
      expect(listed.map((c) => c.metadata.name).sort()).toEqual(
        Array.from({ length: 8 }, (_, i) => `n${i}`).sort(),
      );
    }
  });

  it('leaves no container behind when creates race RemovePodSandbox', async () => {
    const pod = await cri.pod('race');
    const creates = Array.from({ length: 6 }, (_, i) =>
      cri.create(pod, { command: ['sleep', '1000'] }, `r${i}`),
    );
    const removal = shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pod.id });
    const later = Array.from({ length: 3 }, (_, i) =>
      cri.create(pod, { command: ['sleep', '1000'] }, `l${i}`),
    );
    const results = await Promise.allSettled([...creates, removal, ...later]);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as ServiceError).code).toBe(status.NOT_FOUND);
    }
    expect((results[6] as PromiseSettledResult<unknown>).status).toBe('fulfilled');
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`io.kubernetes.sandbox.id=${pod.id}`] },
    });
    expect(left).toEqual([]);
    expect(await cri.list({ pod_sandbox_id: pod.id })).toEqual([]);
  });
});
