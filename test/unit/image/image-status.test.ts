import { status } from '@grpc/grpc-js';
import type { ImageStatusRequest__Output } from '../../../src/generated/runtime/v1/ImageStatusRequest';
import { imageStatus } from '../../../src/image/image-status';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';

const statusOf = (world: FakeWorld, image: string, verbose = false) =>
  imageStatus(world.deps)(
    criRequest<ImageStatusRequest__Output>('ImageStatusRequest', { image: { image }, verbose }),
    callContext(),
  );

describe('ImageStatus', () => {
  it.each([
    ['tag', () => 'busybox:1.36'],
    ['short name of a docker.io image', () => 'docker.io/library/busybox:1.36'],
    ['digest reference', () => `busybox@sha256:${'d'.repeat(64)}`],
    ['id', (id: string) => id],
    ['id without sha256:', (id: string) => id.slice(7)],
  ])('finds an image by %s, with its tags, digests and user', async (_what, ref) => {
    const world = fakeDeps();
    const img = world.fake.addImage('busybox:1.36', {
      RepoDigests: [`busybox@sha256:${'d'.repeat(64)}`],
      Config: { User: '1000:1000' },
    });
    const res = await statusOf(world, ref(img.Id));
    expect(res.image).toMatchObject({
      id: img.Id,
      repo_tags: ['busybox:1.36'],
      repo_digests: [`busybox@sha256:${'d'.repeat(64)}`],
      uid: { value: '1000' },
      username: '',
    });
    expect(res.info).toEqual({});
  });

  it('answers an absent image with an empty status, not an error', async () => {
    const res = await statusOf(fakeDeps(), 'nginx:1.27');
    expect(res.image).toBeNull();
  });

  it('gives the engine’s view when verbose', async () => {
    const world = fakeDeps();
    const img = world.fake.addImage('busybox:1.36');
    const res = await statusOf(world, 'busybox:1.36', true);
    expect(JSON.parse(res.info?.info ?? '{}')).toMatchObject({ id: img.Id, repoTags: ['busybox:1.36'] });
  });

  it.each([
    ['empty', '', 'image.image is empty'],
    ['not a reference', 'Not A Ref', 'image.image'],
  ])('INVALID_ARGUMENT for a reference that is %s', async (_what, ref, message) => {
    const f = await failure(statusOf(fakeDeps(), ref));
    expect(f.code).toBe(status.INVALID_ARGUMENT);
    expect(f.message).toContain(message);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['engine away', dockerUnreachable(), status.UNAVAILABLE],
  ])('inspect: %s → its gRPC code, naming the image', async (_what, err, code) => {
    const world = fakeDeps();
    world.fake.fail('image.inspect', err);
    const f = await failure(statusOf(world, 'busybox:1.36'));
    expect(f.code).toBe(code);
    expect(f.message).toContain('image "busybox:1.36"');
  });
});
