import type { StatusRequest__Output } from '../../../src/generated/runtime/v1/StatusRequest';
import { runtimeStatus } from '../../../src/runtime/runtime-status';
import { callContext, criRequest, fakeDeps } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';

describe('Status', () => {
  const statusOf = (world: ReturnType<typeof fakeDeps>, verbose = false) =>
    runtimeStatus(world.deps)(criRequest<StatusRequest__Output>('StatusRequest', { verbose }), callContext());

  it('is ready with the engine, and lists its runtimes as handlers', async () => {
    const world = fakeDeps();
    world.fake.engineInfo.Runtimes = { runc: {}, crun: {} };
    const res = await statusOf(world, true);
    expect(res.status?.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['RuntimeReady', true],
      ['NetworkReady', true],
    ]);
    expect(res.runtime_handlers?.map((h) => h.name)).toEqual(['', 'runc', 'crun']);
    expect(JSON.parse(res.info?.docker ?? '{}')).toMatchObject({
      endpoint: world.fake.endpoint,
      runtimes: ['runc', 'crun'],
    });
  });

  it.each([
    ['ping', dockerUnreachable()],
    ['ping', dockerTimeout()],
    ['info', dockerError(500, 'daemon is shutting down')],
  ])('is not ready (never an error) when %s fails', async (op, err) => {
    const world = fakeDeps();
    world.fake.fail(op, err);
    const res = await statusOf(world);
    const runtime = res.status?.conditions?.find((c) => c.type === 'RuntimeReady');
    expect(runtime).toMatchObject({ status: false, reason: 'DockerDaemonNotReady' });
    expect(runtime?.message).toContain(world.fake.endpoint);
    expect(res.status?.conditions?.find((c) => c.type === 'NetworkReady')?.status).toBe(false);
  });
});
