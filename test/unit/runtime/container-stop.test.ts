import { status } from '@grpc/grpc-js';
import type { StopContainerRequest__Output } from '../../../src/generated/runtime/v1/StopContainerRequest';
import { stopContainer } from '../../../src/runtime/container-stop';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { runningContainer, withImages } from '../../support/cri-fixtures';

const stop = (world: FakeWorld, id: string, timeout = 0) =>
  stopContainer(world.deps)(
    criRequest<StopContainerRequest__Output>('StopContainerRequest', { container_id: id, timeout }),
    callContext(),
  );

describe('StopContainer', () => {
  it('stops a running container with its grace period; the index has it exited', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await stop(world, id, 10);
    const c = world.fake.containers.get(id)!;
    expect(c.state.Running).toBe(false);
    expect(c.state.ExitCode).toBe(143); // the fake's mark for a stop with a grace period
    expect(world.index.get(id)?.state).toBe('exited');
  });

  it('a negative timeout is no grace at all', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await stop(world, id, -5);
    expect(world.fake.containers.get(id)?.state.ExitCode).toBe(137);
  });

  it.each([
    ['an exited container', 'exited'],
    ['an unknown id', 'unknown'],
    ['an unknown prefix', 'prefix'],
  ])('is idempotent for %s', async (_what, kind) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    if (kind === 'exited') await stop(world, id);
    const target = kind === 'exited' ? id : kind === 'unknown' ? '9'.repeat(64) : 'fedcba9';
    await expect(stop(world, target)).resolves.toEqual({});
  });

  it.each([['empty', '', 'container_id is empty']])(
    'INVALID_ARGUMENT for an id that is %s',
    async (_what, id, message) => {
      const f = await failure(stop(fakeDeps(), id));
      expect(f.code).toBe(status.INVALID_ARGUMENT);
      expect(f.message).toContain(message);
    },
  );

  it.each([
    ['already stopped (304)', dockerError(304, 'container already stopped')],
    ['gone meanwhile (404)', dockerError(404, 'No such container')],
  ])('Docker answering %s counts as done', async (_what, err) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.stop', err);
    await expect(stop(world, id)).resolves.toEqual({});
  });

  it.each([
    ['engine error', 'container.stop', dockerError(500, 'cannot kill container'), status.INTERNAL],
    ['deadline', 'container.stop', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['engine away', 'container.stop', dockerUnreachable(), status.UNAVAILABLE],
    ['inspect: engine error', 'container.inspect', dockerError(500, 'boom'), status.INTERNAL],
  ])('%s → its gRPC code, and the index re-read', async (_what, op, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail(op, err);
    expect((await failure(stop(world, id))).code).toBe(code);
    expect(world.index.get(id)?.state).toBe('running');
  });
});
