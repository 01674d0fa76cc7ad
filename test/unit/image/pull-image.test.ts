import { status } from '@grpc/grpc-js';
import type { PullImageRequest__Output } from '../../../src/generated/runtime/v1/PullImageRequest';
import { pullImage } from '../../../src/image/pull-image';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerUnreachable } from '../../support/fake-engine';

const ID = `sha256:${'b'.repeat(64)}`;
const pull = (world: FakeWorld, image: string, ctx = callContext(), auth?: Record<string, unknown>) =>
  pullImage(world.deps)(
    criRequest<PullImageRequest__Output>('PullImageRequest', { image: { image }, ...(auth ? { auth } : {}) }),
    ctx,
  );

function withRegistry(world: FakeWorld): FakeWorld {
  world.fake.registry.set('busybox:1.36', { Id: ID, RepoDigests: [], Size: 1, Created: '', Config: {} });
  return world;
}

describe('PullImage', () => {
  it.each([
    ['a tag', 'busybox:1.36'],
    ['a docker.io name', 'docker.io/library/busybox:1.36'],
  ])('pulls %s and answers the image id', async (_what, ref) => {
    const world = withRegistry(fakeDeps());
    const res = await pull(world, ref, callContext(), { username: 'u', password: 'p' });
    expect(res.image_ref).toBe(ID);
    expect(world.fake.images.get(ID)?.RepoTags).toEqual(['busybox:1.36']);
  });

  it('NOT_FOUND when the registry has no such image (an error inside the progress stream)', async () => {
    const f = await failure(pull(fakeDeps(), 'busybox:0.0'));
    expect(f.code).toBe(status.NOT_FOUND);
    expect(f.message).toContain('pulling image "busybox:0.0"');
  });

  it('NOT_FOUND when the engine reports success but has no such image', async () => {
    const world = withRegistry(fakeDeps());
    world.fake.registry.set(`busybox@sha256:${'c'.repeat(64)}`, {
      Id: ID,
      RepoDigests: [],
      Size: 1,
      Created: '',
      Config: {},
    });
    const f = await failure(pull(world, `busybox@sha256:${'c'.repeat(64)}`));
    expect(f.code).toBe(status.NOT_FOUND);
    expect(f.message).toContain('the engine reported success');
  });

  it.each([
    ['unauthorized', dockerError(401, 'unauthorized: authentication required'), status.UNAUTHENTICATED],
    [
      'denied',
      dockerError(403, 'denied: requested access to the resource is denied'),
      status.PERMISSION_DENIED,
    ],
    ['manifest unknown', dockerError(404, 'manifest unknown'), status.NOT_FOUND],
    ['registry away', dockerError(500, 'dial tcp 127.0.0.1:5999: connection refused'), status.UNAVAILABLE],
    ['bad reference', dockerError(400, 'invalid reference format'), status.INVALID_ARGUMENT],
  ])('a pull refused with "%s" → its gRPC code from the words', async (_what, err, code) => {
    const world = withRegistry(fakeDeps());
    world.fake.fail('image.pull', err);
    const f = await failure(pull(world, 'busybox:1.36'));
    expect(f.code).toBe(code);
    expect(f.message).toContain('pulling image "busybox:1.36"');
  });

  it('UNAVAILABLE naming the image when the engine itself does not answer', async () => {
    const world = withRegistry(fakeDeps());
    world.fake.fail('image.pull', dockerUnreachable());
    const f = await failure(pull(world, 'busybox:1.36'));
    expect(f.code).toBe(status.UNAVAILABLE);
    expect(f.message).toContain('pulling image "busybox:1.36": docker engine unreachable');
  });

  it('DEADLINE_EXCEEDED when Docker reports no progress for the deadline', async () => {
    const world = withRegistry(fakeDeps({ imagePullProgressDeadlineSeconds: 0.2 }));
    world.fake.delay('image.pull', 10_000);
    const f = await failure(pull(world, 'busybox:1.36'));
    expect(f.code).toBe(status.DEADLINE_EXCEEDED);
    expect(f.message).toContain('no progress for 0.2 s');
  });

  it('CANCELLED when the client gives up', async () => {
    const world = withRegistry(fakeDeps());
    world.fake.delay('image.pull', 10_000);
    const ctx = callContext();
    const p = pull(world, 'busybox:1.36', ctx);
    setTimeout(() => ctx.abort.abort(), 20);
    const f = await failure(p);
    expect(f.code).toBe(status.CANCELLED);
  });

  it.each([
    ['empty', ''],
    ['not a reference', 'Not A Ref'],
  ])('INVALID_ARGUMENT for a reference that is %s, with no pull', async (_what, ref) => {
    const world = fakeDeps();
    expect((await failure(pull(world, ref))).code).toBe(status.INVALID_ARGUMENT);
    expect(world.fake.count('image.pull')).toBe(0);
  });
});
