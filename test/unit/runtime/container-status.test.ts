import { status } from '@grpc/grpc-js';
import type { ContainerStatusRequest__Output } from '../../../src/generated/runtime/v1/ContainerStatusRequest';
import { containerStatus } from '../../../src/runtime/container-status';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { APP_IMAGE, createIn, runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

const statusOf = (world: FakeWorld, id: string, verbose = false) =>
  containerStatus(world.deps)(
    criRequest<ContainerStatusRequest__Output>('ContainerStatusRequest', { container_id: id, verbose }),
    callContext(),
  );

describe('ContainerStatus', () => {
  it('answers a created container with its metadata, image and labels', async () => {
    const world = withImages(fakeDeps());
    const id = await createIn(world, await runSandbox(world));
    const res = await statusOf(world, id);
    expect(res.status).toMatchObject({
      id,
      state: 'CONTAINER_CREATED',
      metadata: { name: 'app', attempt: 0 },
      image: { image: APP_IMAGE },
      labels: { tier: 'app' },
      exit_code: 0,
    });
    expect(res.status?.log_path).toMatch(/app\/0\.log$/);
    expect(res.info).toEqual({});
  });

  it.each([
    [0, 'Completed'],
    [3, 'Error'],
  ])('an exited container with code %d has reason %s and its finish time', async (code, reason) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.exitContainer(id, code);
    const res = await statusOf(world, id);
    expect(res.status).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: code, reason });
    expect(BigInt(String(res.status?.finished_at))).toBeGreaterThan(0n);
  });

  it('brings the index up to what it saw when the event has not arrived yet', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.exitContainer(id, 1);
    expect(world.index.get(id)?.state).toBe('running');
    await statusOf(world, id);
    expect(world.index.get(id)?.state).toBe('exited');
  });

  it.each([
    ['following events: the second answer comes from the cache', true, false, 1],
    ['cut off from events: each answer inspects', false, false, 2],
    ['following events, verbose: each answer inspects', true, true, 2],
  ])('%s', async (_what, follow, verbose, inspects) => {
    const world = withImages(fakeDeps());
    if (follow) await world.index.start();
    const { id } = await runningContainer(world);
    const before = world.fake.count('container.inspect', id);
    const first = await statusOf(world, id, verbose);
    const second = await statusOf(world, id, verbose);
    expect(second.status).toEqual(first.status);
    expect(world.fake.count('container.inspect', id) - before).toBe(inspects);
    world.index.stop();
  });

  it('a cached status goes with the state it was taken in', async () => {
    const world = withImages(fakeDeps());
    await world.index.start();
    const { id } = await runningContainer(world);
    expect((await statusOf(world, id)).status?.state).toBe('CONTAINER_RUNNING');
    world.fake.exitContainer(id, 3);
    // The index hears of the exit through the engine's events.
    while (world.index.get(id)?.state !== 'exited') await new Promise((r) => setTimeout(r, 5));
    expect((await statusOf(world, id)).status).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 3 });
    world.index.stop();
  });

  it('gives the engine’s view when verbose', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const res = await statusOf(world, id, true);
    expect(JSON.parse(res.info?.info ?? '{}')).toMatchObject({ name: expect.stringContaining('app') });
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT, 'container_id is empty'],
    ['unknown', () => '5'.repeat(64), status.NOT_FOUND, `container "${'5'.repeat(64)}" not found`],
  ])('%s id → its code, naming the id', async (_what, id, code, message) => {
    const f = await failure(statusOf(fakeDeps(), id()));
    expect(f.code).toBe(code);
    expect(f.message).toContain(message);
  });

  it('a sandbox id is NOT_FOUND as a container', async () => {
    const world = withImages(fakeDeps());
    expect((await failure(statusOf(world, await runSandbox(world)))).code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['engine away', dockerUnreachable(), status.UNAVAILABLE],
  ])('inspect: %s → its gRPC code', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.inspect', err);
    expect((await failure(statusOf(world, id))).code).toBe(code);
  });
});
