import { status } from '@grpc/grpc-js';
import type { StartContainerRequest__Output } from '../../../src/generated/runtime/v1/StartContainerRequest';
import { startContainer } from '../../../src/runtime/container-start';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { createIn, runSandbox, withImages } from '../../support/cri-fixtures';

const start = (world: FakeWorld, id: string) =>
  startContainer(world.deps)(
    criRequest<StartContainerRequest__Output>('StartContainerRequest', { container_id: id }),
    callContext(),
  );

async function created(): Promise<{ world: FakeWorld; sandboxId: string; id: string }> {
  const world = withImages(fakeDeps());
  const sandboxId = await runSandbox(world);
  return { world, sandboxId, id: await createIn(world, sandboxId) };
}

describe('StartContainer', () => {
  it('starts a created container; the index has it running when the call returns', async () => {
    const { world, id } = await created();
    await start(world, id);
    expect(world.fake.containers.get(id)?.state.Running).toBe(true);
    expect(world.index.get(id)?.state).toBe('running');
  });

  it('accepts an id prefix', async () => {
    const { world, id } = await created();
    await start(world, id.slice(0, 6));
    expect(world.fake.containers.get(id)?.state.Running).toBe(true);
  });

  it('counts "already started" (304) from Docker as done', async () => {
    const { world, id } = await created();
    world.fake.fail('container.start', dockerError(304, 'container already started'));
    await expect(start(world, id)).resolves.toEqual({});
  });

  it.each([
    ['running', (w: FakeWorld, id: string) => start(w, id), 'CONTAINER_RUNNING'],
    [
      'exited',
      async (w: FakeWorld, id: string) => {
        await start(w, id);
        w.fake.exitContainer(id, 1);
      },
      'CONTAINER_EXITED',
    ],
  ])('refuses a %s container: a container runs once in CRI', async (_what, prepare, state) => {
    const { world, id } = await created();
    await prepare(world, id);
    const f = await failure(start(world, id));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain(`container "${id}" is ${state}`);
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT],
    ['unknown', () => 'b'.repeat(64), status.NOT_FOUND],
  ])('%s id → its code', async (_what, id, code) => {
    const { world } = await created();
    expect((await failure(start(world, id()))).code).toBe(code);
  });

  it('a sandbox id is NOT_FOUND as a container', async () => {
    const { world, sandboxId } = await created();
    expect((await failure(start(world, sandboxId))).code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['engine error', dockerError(500, 'OCI runtime create failed'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['engine away', dockerUnreachable(), status.UNAVAILABLE],
    ['gone meanwhile', dockerError(404, 'No such container'), status.NOT_FOUND],
  ])('start: %s → its gRPC code, and the index re-read', async (_what, err, code) => {
    const { world, id } = await created();
    world.fake.fail('container.start', err);
    const reads = world.fake.count('index.inspect');
    const f = await failure(start(world, id));
    expect(f.code).toBe(code);
    expect(f.message).toContain(id);
    expect(world.fake.count('index.inspect')).toBeGreaterThan(reads);
    expect(world.index.get(id)?.state).toBe('created');
  });
});
