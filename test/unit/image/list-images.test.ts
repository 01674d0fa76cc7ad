import { status } from '@grpc/grpc-js';
import type { ListImagesRequest__Output } from '../../../src/generated/runtime/v1/ListImagesRequest';
import { listImages } from '../../../src/image/list-images';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';

const list = (world: FakeWorld, image?: string) =>
  listImages(world.deps)(
    criRequest<ListImagesRequest__Output>(
      'ListImagesRequest',
      image !== undefined ? { filter: { image: { image } } } : {},
    ),
    callContext(),
  );

describe('ListImages', () => {
  it('lists every image with its tags and size', async () => {
    const world = fakeDeps();
    const a = world.fake.addImage('busybox:1.36');
    const b = world.fake.addImage('registry.k8s.io/pause:3.10');
    const res = await list(world);
    expect(res.images?.map((i) => [i.id, i.repo_tags, i.size]).sort()).toEqual(
      [
        [a.Id, ['busybox:1.36'], '1234'],
        [b.Id, ['registry.k8s.io/pause:3.10'], '1234'],
      ].sort(),
    );
  });

  it.each([
    ['a present image', 'busybox:1.36', 1],
    ['an absent image', 'nginx:1.27', 0],
  ])('filters to %s', async (_what, ref, n) => {
    const world = fakeDeps();
    world.fake.addImage('busybox:1.36');
    world.fake.addImage('registry.k8s.io/pause:3.10');
    expect((await list(world, ref)).images).toHaveLength(n);
  });

  it('an empty filter lists everything', async () => {
    const world = fakeDeps();
    world.fake.addImage('busybox:1.36');
    expect((await list(world, '')).images).toHaveLength(1);
  });

  it('INVALID_ARGUMENT for a filter that is not a reference', async () => {
    const f = await failure(list(fakeDeps(), 'Not A Ref'));
    expect(f.code).toBe(status.INVALID_ARGUMENT);
    expect(f.message).toContain('filter.image.image');
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('list: %s → its gRPC code', async (_what, err, code) => {
    const world = fakeDeps();
    world.fake.fail('image.list', err);
    expect((await failure(list(world))).code).toBe(code);
  });
});
