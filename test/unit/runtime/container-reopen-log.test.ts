import { status } from '@grpc/grpc-js';
import type { ReopenContainerLogRequest__Output } from '../../../src/generated/runtime/v1/ReopenContainerLogRequest';
import { reopenContainerLog } from '../../../src/runtime/container-reopen-log';
import { criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { createIn, runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

const reopen = (world: FakeWorld, id: string) =>
  reopenContainerLog(world.deps)(
    criRequest<ReopenContainerLogRequest__Output>('ReopenContainerLogRequest', { container_id: id }),
  );

describe('ReopenContainerLog', () => {
  it('asks the log pump of a running container to reopen its file at the kubelet’s path', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    await reopen(world, id);
    expect(world.logs.reopened).toEqual([{ id, path: expect.stringMatching(/\/app\/0\.log$/) }]);
  });

  it('refuses a container that is not running, naming its state', async () => {
    const world = withImages(fakeDeps());
    const id = await createIn(world, await runSandbox(world));
    const f = await failure(reopen(world, id));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain('not running (state created)');
    expect(world.logs.reopened).toEqual([]);
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT],
    ['unknown', () => '3'.repeat(64), status.NOT_FOUND],
  ])('%s id → its code', async (_what, id, code) => {
    expect((await failure(reopen(fakeDeps(), id()))).code).toBe(code);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('inspect: %s → its gRPC code', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.inspect', err);
    expect((await failure(reopen(world, id))).code).toBe(code);
  });
});
