import { status } from '@grpc/grpc-js';
import type { ContainerStatsRequest__Output } from '../../../src/generated/runtime/v1/ContainerStatsRequest';
import type { ListContainerStatsRequest__Output } from '../../../src/generated/runtime/v1/ListContainerStatsRequest';
import type { PodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/PodSandboxStatsRequest';
import type { ListPodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxStatsRequest';
import { containerStats, listContainerStats } from '../../../src/runtime/container-stats';
import { listPodSandboxStats, podSandboxStats } from '../../../src/runtime/pod-sandbox-stats';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { runningContainer, withImages } from '../../support/cri-fixtures';

// Readings come from the stats collector (cgroup files), which this fake world does not have:
// these cases are the ones answered before any reading is taken.
describe('ContainerStats and PodSandboxStats: ids', () => {
  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT],
    ['unknown', () => 'a'.repeat(64), status.NOT_FOUND],
  ])('ContainerStats of an %s id → its code', async (_what, id, code) => {
    const world = fakeDeps();
    const req = criRequest<ContainerStatsRequest__Output>('ContainerStatsRequest', { container_id: id() });
    expect((await failure(containerStats(world.deps)(req, callContext()))).code).toBe(code);
  });

  it('ContainerStats of a sandbox id is NOT_FOUND', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(world);
    const req = criRequest<ContainerStatsRequest__Output>('ContainerStatsRequest', {
      container_id: sandboxId,
    });
    expect((await failure(containerStats(world.deps)(req, callContext()))).code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT],
    ['unknown', () => 'b'.repeat(64), status.NOT_FOUND],
  ])('PodSandboxStats of an %s id → its code', async (_what, id, code) => {
    const world = fakeDeps();
    const req = criRequest<PodSandboxStatsRequest__Output>('PodSandboxStatsRequest', {
      pod_sandbox_id: id(),
    });
    expect((await failure(podSandboxStats(world.deps)(req, callContext()))).code).toBe(code);
  });

  it.each([
    ['container id', { id: 'c'.repeat(64) }],
    ['pod', { pod_sandbox_id: 'd'.repeat(64) }],
  ])('ListContainerStats filtered by an unknown %s is empty', async (_what, filter) => {
    const world = withImages(fakeDeps());
    await runningContainer(world);
    const req = criRequest<ListContainerStatsRequest__Output>('ListContainerStatsRequest', { filter });
    await expect(listContainerStats(world.deps)(req, callContext())).resolves.toEqual({ stats: [] });
  });

  it('ListPodSandboxStats filtered by an unknown id is empty', async () => {
    const world = withImages(fakeDeps());
    await runningContainer(world);
    const req = criRequest<ListPodSandboxStatsRequest__Output>('ListPodSandboxStatsRequest', {
      filter: { id: 'e'.repeat(64) },
    });
    await expect(listPodSandboxStats(world.deps)(req, callContext())).resolves.toEqual({ stats: [] });
  });
});
