import { status } from '@grpc/grpc-js';
import type { ListPodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxStatsRequest';
import type { PodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/PodSandboxStatsRequest';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import { toStatus } from '../../../src/grpc/handler';
import { listPodSandboxStats, podSandboxStats } from '../../../src/runtime/pod-sandbox-stats';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { withFakeStats } from '../../support/fake-stats';
import {
  containerConfig,
  createIn,
  runningContainer,
  runSandbox,
  sandboxConfig,
  withImages,
} from '../../support/cri-fixtures';

const stats = (w: FakeWorld, id: string) =>
  podSandboxStats(w.deps)(
    criRequest<PodSandboxStatsRequest__Output>('PodSandboxStatsRequest', { pod_sandbox_id: id }),
    callContext(),
  );
const list = (w: FakeWorld, filter?: Record<string, unknown>) =>
  listPodSandboxStats(w.deps)(
    criRequest<ListPodSandboxStatsRequest__Output>('ListPodSandboxStatsRequest', filter ? { filter } : {}),
    callContext(),
  );

describe('PodSandboxStats', () => {
  it('answers the pod’s attributes, its containers, and CPU summed over them and the pause container', async () => {
    const w = withImages(fakeDeps());
    const fake = withFakeStats(w);
    const sandboxId = await runSandbox(w, sandboxConfig('web'));
    const a = await createIn(w, sandboxId, containerConfig('a'));
    const b = await createIn(w, sandboxId, containerConfig('b'));
    fake.cpuNs.set(sandboxId, 5n).set(a, 100n).set(b, 20n);
    const { stats: s } = await stats(w, sandboxId);
    expect(fake.reads).toContain(sandboxId);
    expect(s?.attributes).toMatchObject({ id: sandboxId, metadata: { name: 'web', namespace: 'default' } });
    expect(s?.attributes?.labels).toEqual({ app: 'web' });
    expect(s?.linux?.cpu?.usage_core_nano_seconds).toEqual({ value: '125' });
    expect(s?.linux?.memory?.working_set_bytes).toEqual({ value: String(3 * 1024 * 1024) });
    expect(s?.linux?.network?.default_interface).toMatchObject({ name: 'eth0', rx_bytes: { value: '100' } });
    expect(s?.linux?.containers?.map((c) => c.attributes?.id).sort()).toEqual([a, b].sort());
    expect(s?.linux?.containers?.find((c) => c.attributes?.id === a)?.cpu?.usage_core_nano_seconds).toEqual({
      value: '100',
    });
  });

  it('takes the pod’s own cgroup reading when it has one', async () => {
    const w = withImages(fakeDeps());
    const fake = withFakeStats(w);
    const { sandboxId } = await runningContainer(w);
    fake.podCpuNs.set(sandboxId, 7777n);
    const { stats: s } = await stats(w, sandboxId);
    expect(s?.linux?.cpu?.usage_core_nano_seconds).toEqual({ value: '7777' });
    // The pause container is read only for a sum, and a pod cgroup needs none.
    expect(fake.reads).not.toContain(sandboxId);
  });

  it('a stopped pod has no summed CPU and no network', async () => {
    const w = withImages(fakeDeps());
    withFakeStats(w);
    const { sandboxId } = await runningContainer(w);
    await stopPodSandbox(w.deps)(
      criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: sandboxId }),
      callContext(),
    );
    const { stats: s } = await stats(w, sandboxId);
    expect(s?.attributes?.id).toBe(sandboxId);
    expect(s?.linux?.cpu).toBeNull();
    expect(s?.linux?.network).toBeNull();
  });

  it('accepts an unambiguous prefix and answers under the full id', async () => {
    const w = withImages(fakeDeps());
    withFakeStats(w);
    const sandboxId = await runSandbox(w);
    expect((await stats(w, sandboxId.slice(0, 12))).stats?.attributes?.id).toBe(sandboxId);
  });

  it.each([
    ['an empty', () => '', status.INVALID_ARGUMENT, 'pod_sandbox_id is empty'],
    ['an unknown', () => 'b'.repeat(64), status.NOT_FOUND, `pod sandbox "${'b'.repeat(64)}" not found`],
    ['a non-hex (a pod name)', () => 'default_web', status.NOT_FOUND, 'pod sandbox "default_web" not found'],
  ])('%s id → its code, naming it; nothing read', async (_what, id, code, message) => {
    const w = withImages(fakeDeps());
    const fake = withFakeStats(w);
    await runningContainer(w);
    const reads = fake.reads.length;
    const f = await failure(stats(w, id()));
    expect(f.code).toBe(code);
    expect(f.message).toContain(message);
    expect(fake.reads.length).toBe(reads);
  });

  it('a workload container’s id is NOT_FOUND as a pod', async () => {
    const w = withImages(fakeDeps());
    withFakeStats(w);
    const { id } = await runningContainer(w);
    expect((await failure(stats(w, id))).code).toBe(status.NOT_FOUND);
  });

  // As the gRPC wrapper answers it: a plain Error is a bug of ours, INTERNAL.
  it('a failed reading fails the call INTERNAL, with its message', async () => {
    const w = withImages(fakeDeps());
    const fake = withFakeStats(w);
    const sandboxId = await runSandbox(w);
    fake.failure = new Error('cgroup vanished');
    const f = await failure(stats(w, sandboxId).catch((e: unknown) => Promise.reject(toStatus(e))));
    expect(f.code).toBe(status.INTERNAL);
    expect(f.message).toContain('cgroup vanished');
  });
});

describe('ListPodSandboxStats', () => {
  async function twoPods() {
    const w = withImages(fakeDeps());
    withFakeStats(w);
    const web = await runSandbox(w, sandboxConfig('web'));
    const db = await runSandbox(w, sandboxConfig('db'));
    await createIn(w, db, containerConfig('postgres'));
    return { w, web, db };
  }

  it.each([
    ['no filter', () => undefined, ['web', 'db']],
    ['its id', (x: { web: string }) => ({ id: x.web }), ['web']],
    ['an id prefix', (x: { db: string }) => ({ id: x.db.slice(0, 10) }), ['db']],
    ['a label selector', () => ({ label_selector: { app: 'db' } }), ['db']],
    ['an unknown id', () => ({ id: 'e'.repeat(64) }), []],
    ['an id that is not hex', () => ({ id: 'web' }), []],
    ['a selector that matches nothing', () => ({ label_selector: { app: 'none' } }), []],
  ])('filtered by %s', async (_what, filter, names) => {
    const x = await twoPods();
    const res = await list(x.w, filter(x));
    expect(res.stats?.map((s) => s.attributes?.metadata?.name).sort()).toEqual([...names].sort());
  });

  it('never lists a workload container as a pod', async () => {
    const x = await twoPods();
    const ids = (await list(x.w)).stats?.map((s) => s.attributes?.id);
    expect(ids?.sort()).toEqual([x.web, x.db].sort());
  });
});
