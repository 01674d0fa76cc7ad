import { status } from '@grpc/grpc-js';
import type { PodSandboxStatusRequest__Output } from '../../../src/generated/runtime/v1/PodSandboxStatusRequest';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import { podSandboxStatus } from '../../../src/runtime/sandbox-status';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { runningContainer, runSandbox, sandboxConfig, withImages } from '../../support/cri-fixtures';

const statusOf = (world: FakeWorld, id: string, verbose = false) =>
  podSandboxStatus(world.deps)(
    criRequest<PodSandboxStatusRequest__Output>('PodSandboxStatusRequest', { pod_sandbox_id: id, verbose }),
    callContext(),
  );

describe('PodSandboxStatus', () => {
  it.each([
    ['following events: the second answer inspects nothing', true, false, 0],
    ['cut off from events: each answer inspects the sandbox and its container', false, false, 2],
    ['following events, verbose: each answer inspects the sandbox', true, true, 1],
  ])('%s', async (_what, follow, verbose, inspects) => {
    const world = withImages(fakeDeps());
    if (follow) await world.index.start();
    const { sandboxId, id } = await runningContainer(world);
    const first = await statusOf(world, sandboxId, verbose);
    const before = world.fake.count('container.inspect');
    const second = await statusOf(world, sandboxId, verbose);
    expect(world.fake.count('container.inspect') - before).toBe(inspects);
    expect(second.status).toEqual(first.status);
    expect(second.containers_statuses).toEqual(first.containers_statuses);
    expect(BigInt(String(second.timestamp))).toBeGreaterThanOrEqual(BigInt(String(first.timestamp)));
    expect(second.containers_statuses?.map((c) => c.id)).toEqual([id]);
    world.index.stop();
  });

  it('a cached sandbox status goes with the state it was taken in', async () => {
    const world = withImages(fakeDeps());
    await world.index.start();
    const sandboxId = await runSandbox(world);
    expect((await statusOf(world, sandboxId)).status?.state).toBe('SANDBOX_READY');
    world.fake.exitContainer(sandboxId, 0);
    while (world.index.get(sandboxId)?.state !== 'exited') await new Promise((r) => setTimeout(r, 5));
    expect((await statusOf(world, sandboxId)).status?.state).toBe('SANDBOX_NOTREADY');
    world.index.stop();
  });

  it('answers a ready pod with its metadata, IP and its containers’ statuses', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    const res = await statusOf(world, sandboxId);
    expect(res.status).toMatchObject({
      id: sandboxId,
      state: 'SANDBOX_READY',
      metadata: { name: 'pod', namespace: 'default', attempt: 0 },
      labels: { app: 'pod' },
    });
    expect(res.status?.network?.ip).toMatch(/^172\.17\.0\.\d+$/);
    expect(res.containers_statuses?.map((c) => [c.id, c.state])).toEqual([[id, 'CONTAINER_RUNNING']]);
    expect(BigInt(String(res.timestamp))).toBeGreaterThan(0n);
    expect(res.info).toEqual({});
  });

  it('answers NOTREADY once the pod is stopped, and gives the engine’s view when verbose', async () => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world, sandboxConfig('quiet'));
    await stopPodSandbox(world.deps)(
      criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: sandboxId }),
      callContext(),
    );
    const res = await statusOf(world, sandboxId, true);
    expect(res.status?.state).toBe('SANDBOX_NOTREADY');
    expect(JSON.parse(res.info?.info ?? '{}')).toMatchObject({ name: expect.stringContaining('quiet') });
  });

  it('leaves out a container removed while the statuses were read', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    world.fake.fail('container.inspect', dockerError(404, 'No such container'), { subject: id });
    const res = await statusOf(world, sandboxId);
    expect(res.containers_statuses).toEqual([]);
  });

  it.each([
    ['empty', () => '', status.INVALID_ARGUMENT, 'pod_sandbox_id is empty'],
    ['unknown', () => 'e'.repeat(64), status.NOT_FOUND, `pod sandbox "${'e'.repeat(64)}" not found`],
  ])('%s id → its code, naming the id', async (_what, id, code, message) => {
    const f = await failure(statusOf(withImages(fakeDeps()), id()));
    expect(f.code).toBe(code);
    expect(f.message).toContain(message);
  });

  it('a workload container’s id is NOT_FOUND as a sandbox', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    expect((await failure(statusOf(world, id))).code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['engine away', dockerUnreachable(), status.UNAVAILABLE],
  ])('inspect: %s → its gRPC code', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    const sandboxId = await runSandbox(world);
    world.fake.fail('container.inspect', err);
    const f = await failure(statusOf(world, sandboxId));
    expect(f.code).toBe(code);
    expect(f.message).toContain(sandboxId);
  });
});
