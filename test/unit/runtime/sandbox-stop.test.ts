import { status } from '@grpc/grpc-js';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

const stop = (world: FakeWorld, id: string) =>
  stopPodSandbox(world.deps)(
    criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: id }),
    callContext(),
  );

describe('StopPodSandbox', () => {
  it('stops the pod containers and then the pause container; the index has them exited', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    await stop(world, sandboxId);
    expect(world.fake.containers.get(id)?.state.Running).toBe(false);
    expect(world.fake.containers.get(sandboxId)?.state.Running).toBe(false);
    expect(world.index.get(id)?.state).toBe('exited');
    expect(world.index.get(sandboxId)?.state).toBe('exited');
  });

  it.each([
    ['following events', true, 0],
    ['cut off from events', false, 1],
  ])(
    'with the index %s, the pod containers come from it (Docker lists them only when it may be behind)',
    async (_what, follow, lists) => {
      const world = withImages(fakeDeps());
      if (follow) await world.index.start();
      const { sandboxId, id } = await runningContainer(world);
      const before = world.fake.count('container.list');
      await stop(world, sandboxId);
      expect(world.fake.count('container.list') - before).toBe(lists);
      expect(world.fake.containers.get(id)?.state.Running).toBe(false);
      expect(world.index.get(id)?.state).toBe('exited');
      world.index.stop();
    },
  );

  it.each([
    ['following events', true],
    ['cut off from events', false],
  ])(
    'with the index %s, a container carrying only the sandbox label is not one of the pod’s',
    async (_what, follow) => {
      const world = withImages(fakeDeps());
      if (follow) await world.index.start();
      const { sandboxId, id } = await runningContainer(world);
      const foreign = await world.fake.createContainer({
        Image: 'busybox:latest',
        Labels: { 'io.kubernetes.sandbox.id': sandboxId },
      });
      await world.fake.startContainer(foreign);
      await stop(world, sandboxId);
      expect(world.fake.containers.get(id)?.state.Running).toBe(false);
      expect(world.fake.containers.get(foreign)?.state.Running).toBe(true);
      world.index.stop();
    },
  );

  it('accepts an unambiguous id prefix', async () => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    await stop(world, sandboxId.slice(0, 12));
    expect(world.fake.containers.get(sandboxId)?.state.Running).toBe(false);
  });

  it('is idempotent: a stopped pod is stopped again without a Docker stop', async () => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    await stop(world, sandboxId);
    const stops = world.fake.count('container.stop');
    await stop(world, sandboxId);
    expect(world.fake.count('container.stop')).toBe(stops);
  });

  it('brings the index up to date for a pause container that died by itself', async () => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    world.fake.exitContainer(sandboxId, 2);
    expect(world.index.get(sandboxId)?.state).toBe('running');
    await stop(world, sandboxId);
    expect(world.index.get(sandboxId)?.state).toBe('exited');
  });

  it.each([
    ['an unknown id', 'a'.repeat(64)],
    ['an unknown prefix', 'abc123'],
    ['a workload container id', 'container'],
  ])('answers OK for %s (the kubelet retries stops of what is gone)', async (_what, id) => {
    const world = withImages(fakeDeps());
    const ids = await runningContainer(world);
    await expect(stop(world, id === 'container' ? ids.id : id)).resolves.toEqual({});
    expect(world.fake.containers.get(ids.sandboxId)?.state.Running).toBe(true);
  });

  it.each([['empty', '', 'pod_sandbox_id is empty']])(
    'INVALID_ARGUMENT for an id that is %s',
    async (_what, id, message) => {
      const world = fakeDeps();
      const f = await failure(stop(world, id));
      expect(f.code).toBe(status.INVALID_ARGUMENT);
      expect(f.message).toContain(message);
    },
  );

  it.each([
    ['inspect: engine error', 'container.inspect', dockerError(500, 'boom'), status.INTERNAL],
    ['inspect: deadline', 'container.inspect', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['list members: engine away', 'container.list', dockerUnreachable(), status.UNAVAILABLE],
    ['stop: engine error', 'container.stop', dockerError(500, 'cannot kill'), status.INTERNAL],
    ['stop: deadline', 'container.stop', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('%s → its gRPC code', async (_what, op, err, code) => {
    const world = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(world);
    world.fake.fail(op, err);
    expect((await failure(stop(world, sandboxId))).code).toBe(code);
  });

  it.each([
    ['gone meanwhile (404)', dockerError(404, 'No such container')],
    ['already stopped (304)', dockerError(304, 'container already stopped')],
  ])('a container stop that finds it %s counts as done', async (_what, err) => {
    const world = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(world);
    world.fake.fail('container.stop', err);
    await expect(stop(world, sandboxId)).resolves.toEqual({});
  });
});
