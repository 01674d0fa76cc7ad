import { status } from '@grpc/grpc-js';
import type { RemoveContainerRequest__Output } from '../../../src/generated/runtime/v1/RemoveContainerRequest';
import { removeContainer } from '../../../src/runtime/container-remove';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { runningContainer, withImages } from '../../support/cri-fixtures';

const remove = (world: FakeWorld, id: string) =>
  removeContainer(world.deps)(
    criRequest<RemoveContainerRequest__Output>('RemoveContainerRequest', { container_id: id }),
    callContext(),
  );

describe('RemoveContainer', () => {
  it('removes a running container (forced); Docker and the index no longer have it', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    await remove(world, id);
    expect(world.fake.containers.has(id)).toBe(false);
    expect(world.index.get(id)).toBeUndefined();
    expect(world.fake.containers.has(sandboxId)).toBe(true);
  });

  it('is idempotent: removed, unknown and prefix-of-nothing ids answer OK', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await remove(world, id);
    await expect(remove(world, id)).resolves.toEqual({});
    await expect(remove(world, '7'.repeat(64))).resolves.toEqual({});
    await expect(remove(world, 'abcdef0')).resolves.toEqual({});
  });

  it('leaves a sandbox alone when given its id', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(world);
    await expect(remove(world, sandboxId)).resolves.toEqual({});
    expect(world.fake.containers.has(sandboxId)).toBe(true);
  });

  it('Docker answering gone meanwhile (404) counts as removed, and the index forgets it', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.remove', dockerError(404, 'No such container'));
    await expect(remove(world, id)).resolves.toEqual({});
    expect(world.index.get(id)).toBeUndefined();
  });

  it('a removal already in progress (409) answers OK, but the index keeps what Docker still has', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail(
      'container.remove',
      dockerError(409, `removal of container ${id} is already in progress`),
    );
    await expect(remove(world, id)).resolves.toEqual({});
    // That other removal may fail: until Docker's destroy, the container stays visible.
    expect(world.index.get(id)?.state).toBe('running');
    await expect(remove(world, id)).resolves.toEqual({});
    expect(world.fake.containers.has(id)).toBe(false);
    expect(world.index.get(id)).toBeUndefined();
  });

  it.each([
    ['engine error', dockerError(500, 'device or resource busy'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('remove: %s → its gRPC code, and the index keeps what Docker keeps', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.remove', err);
    const f = await failure(remove(world, id));
    expect(f.code).toBe(code);
    expect(f.message).toContain(id);
    expect(world.index.get(id)?.state).toBe('running');
  });

  it('INVALID_ARGUMENT for an empty id', async () => {
    expect((await failure(remove(fakeDeps(), ''))).code).toBe(status.INVALID_ARGUMENT);
  });
});
