import { status } from '@grpc/grpc-js';
import type { RemovePodSandboxRequest__Output } from '../../../src/generated/runtime/v1/RemovePodSandboxRequest';
import { removePodSandbox } from '../../../src/runtime/sandbox-remove';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

const remove = (world: FakeWorld, id: string) =>
  removePodSandbox(world.deps)(
    criRequest<RemovePodSandboxRequest__Output>('RemovePodSandboxRequest', { pod_sandbox_id: id }),
    callContext(),
  );

describe('RemovePodSandbox', () => {
  it('removes a running pod with its containers, from Docker and from the index', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    await remove(world, sandboxId);
    expect(world.fake.containers.size).toBe(0);
    expect(world.index.get(id)).toBeUndefined();
    expect(world.index.get(sandboxId)).toBeUndefined();
  });

  it.each([
    ['following events', true, 0],
    ['cut off from events', false, 1],
  ])(
    'with the index %s, the pod containers come from it (Docker lists them only when it may be behind)',
    async (_what, follow, lists) => {
      const world = withImages(fakeDeps());
      if (follow) await world.index.start();
      const { sandboxId } = await runningContainer(world);
      const before = world.fake.count('container.list');
      await remove(world, sandboxId);
      expect(world.fake.count('container.list') - before).toBe(lists);
      expect(world.fake.containers.size).toBe(0);
      world.index.stop();
    },
  );

  it('is idempotent: a second remove answers OK without a Docker remove', async () => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    await remove(world, sandboxId);
    const removes = world.fake.count('container.remove');
    await expect(remove(world, sandboxId)).resolves.toEqual({});
    expect(world.fake.count('container.remove')).toBe(removes);
  });

  it.each([
    ['an unknown id', 'f'.repeat(64)],
    ['an unknown prefix', 'abc1234'],
  ])('answers OK for %s', async (_what, id) => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    await expect(remove(world, id)).resolves.toEqual({});
    expect(world.fake.containers.has(sandboxId)).toBe(true);
  });

  it('leaves a workload container alone when given its id', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await expect(remove(world, id)).resolves.toEqual({});
    expect(world.fake.containers.has(id)).toBe(true);
  });

  it.each([['empty', '', status.INVALID_ARGUMENT]])('refuses an id that is %s', async (_what, id, code) => {
    expect((await failure(remove(fakeDeps(), id))).code).toBe(code);
  });

  it('a container that vanished meanwhile (404 on remove) counts as removed', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    world.fake.fail('container.remove', dockerError(404, 'No such container'), { subject: id });
    await remove(world, sandboxId);
    expect(world.fake.containers.has(sandboxId)).toBe(false);
    expect(world.index.get(id)).toBeUndefined();
  });

  it.each([
    ['remove: engine error', 'container.remove', dockerError(500, 'device busy'), status.INTERNAL],
    ['remove: deadline', 'container.remove', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['inspect: engine error', 'container.inspect', dockerError(500, 'boom'), status.INTERNAL],
  ])('%s → its gRPC code, and the index still has what Docker still has', async (_what, op, err, code) => {
    const world = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(world);
    world.fake.fail(op, err);
    expect((await failure(remove(world, sandboxId))).code).toBe(code);
    for (const id of world.fake.containers.keys()) expect(world.index.get(id)).toBeDefined();
  });
});
