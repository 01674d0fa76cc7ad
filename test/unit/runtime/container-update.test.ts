import { status } from '@grpc/grpc-js';
import type { UpdateContainerResourcesRequest__Output } from '../../../src/generated/runtime/v1/UpdateContainerResourcesRequest';
import { updateContainerResources } from '../../../src/runtime/container-update';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { runningContainer, withImages } from '../../support/cri-fixtures';

const update = (world: FakeWorld, id: string, linux: Record<string, unknown> | null) =>
  updateContainerResources(world.deps)(
    criRequest<UpdateContainerResourcesRequest__Output>('UpdateContainerResourcesRequest', {
      container_id: id,
      ...(linux ? { linux } : {}),
    }),
    callContext(),
  );

describe('UpdateContainerResources', () => {
  it('sends cpu and memory limits to Docker', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await update(world, id, {
      cpu_period: 100000,
      cpu_quota: 50000,
      memory_limit_in_bytes: 64 * 1024 * 1024,
    });
    expect(world.fake.containers.get(id)?.updates).toEqual([
      expect.objectContaining({ CpuPeriod: 100000, CpuQuota: 50000, Memory: 64 * 1024 * 1024 }),
    ]);
  });

  it('makes no Docker call when there is nothing Docker can change', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await update(world, id, null);
    expect(world.fake.count('container.update')).toBe(0);
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT],
    ['unknown', () => '4'.repeat(64), status.NOT_FOUND],
  ])('%s id → its code', async (_what, id, code) => {
    expect((await failure(update(fakeDeps(), id(), { cpu_shares: 512 }))).code).toBe(code);
  });

  it.each([
    ['a refused value', dockerError(400, 'Minimum memory limit allowed is 6MB'), status.INVALID_ARGUMENT],
    ['gone meanwhile', dockerError(404, 'No such container'), status.NOT_FOUND],
    ['engine error', dockerError(500, 'cgroup write failed'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('update: %s → its gRPC code, naming the container', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.update', err);
    const f = await failure(update(world, id, { cpu_shares: 512 }));
    expect(f.code).toBe(code);
    expect(f.message).toContain(id);
  });
});
