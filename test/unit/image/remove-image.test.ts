import { status } from '@grpc/grpc-js';
import type { RemoveImageRequest__Output } from '../../../src/generated/runtime/v1/RemoveImageRequest';
import { removeImage } from '../../../src/image/remove-image';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';

const remove = (world: FakeWorld, image: string) =>
  removeImage(world.deps)(
    criRequest<RemoveImageRequest__Output>('RemoveImageRequest', { image: { image } }),
    callContext(),
  );

function twoTags(world: FakeWorld) {
  const img = world.fake.addImage('busybox:1.36');
  img.RepoTags.push('busybox:stable');
  return img;
}

describe('RemoveImage', () => {
  it('by tag drops that tag only, while another holds the image', async () => {
    const world = fakeDeps();
    const img = twoTags(world);
    await remove(world, 'busybox:stable');
    expect(world.fake.images.get(img.Id)?.RepoTags).toEqual(['busybox:1.36']);
  });

  it.each([
    ['full id', (id: string) => id],
    ['id prefix', (id: string) => id.slice(7, 19)],
  ])('by %s takes every tag and the image', async (_what, ref) => {
    const world = fakeDeps();
    const img = twoTags(world);
    await remove(world, ref(img.Id));
    expect(world.fake.images.has(img.Id)).toBe(false);
  });

  it('an absent image counts as removed', async () => {
    const world = fakeDeps();
    await expect(remove(world, 'nginx:1.27')).resolves.toEqual({});
    expect(world.fake.count('image.remove')).toBe(0);
  });

  it('an image gone while its tags were removed counts as removed', async () => {
    const world = fakeDeps();
    const img = twoTags(world);
    world.fake.fail('image.remove', dockerError(404, 'No such image'), { subject: 'busybox:stable' });
    await expect(remove(world, img.Id)).resolves.toEqual({});
  });

  it('an image a container uses is FAILED_PRECONDITION, with Docker’s reason', async () => {
    const world = fakeDeps();
    const img = world.fake.addImage('busybox:1.36');
    world.fake.addContainer({ name: 'user', Image: 'busybox:1.36' });
    const f = await failure(remove(world, img.Id));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain('image is being used');
  });

  it.each([
    ['empty', ''],
    ['not a reference', 'Not A Ref'],
  ])('INVALID_ARGUMENT for a reference that is %s', async (_what, ref) => {
    expect((await failure(remove(fakeDeps(), ref))).code).toBe(status.INVALID_ARGUMENT);
  });

  it.each([
    ['remove: engine error', 'image.remove', dockerError(500, 'boom'), status.INTERNAL],
    ['remove: deadline', 'image.remove', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['inspect: engine error', 'image.inspect', dockerError(500, 'boom'), status.INTERNAL],
  ])('%s → its gRPC code, naming the image', async (_what, op, err, code) => {
    const world = fakeDeps();
    world.fake.addImage('busybox:1.36');
    world.fake.fail(op, err);
    const f = await failure(remove(world, 'busybox:1.36'));
    expect(f.code).toBe(code);
    expect(f.message).toContain('image "busybox:1.36"');
  });
});
