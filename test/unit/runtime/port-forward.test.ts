import { status } from '@grpc/grpc-js';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { runningContainer, withImages, withStreaming } from '../../support/cri-fixtures';
import type { PortForwardRequest__Output } from '../../../src/generated/runtime/v1/PortForwardRequest';
import { portForward } from '../../../src/runtime/port-forward';
import { dockerError } from '../../support/fake-engine';

describe('PortForward', () => {
  it.each([
    ['a port out of range', (s: string) => ({ pod_sandbox_id: s, port: [0] }), status.INVALID_ARGUMENT],
    ['an unknown pod', () => ({ pod_sandbox_id: '1'.repeat(64) }), status.NOT_FOUND],
    ['a container id', (_s: string, c: string) => ({ pod_sandbox_id: c }), status.NOT_FOUND],
  ])('PortForward with %s → its code', async (_what, fields, code) => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const { sandboxId, id } = await runningContainer(world);
    const f = await failure(
      portForward(world.deps)(
        criRequest<PortForwardRequest__Output>('PortForwardRequest', fields(sandboxId, id)),
        callContext(),
      ),
    );
    expect(f.code).toBe(code);
  });

  it('a pod that is not ready is FAILED_PRECONDITION; an engine error INTERNAL', async () => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const { sandboxId } = await runningContainer(world);
    const req = criRequest<PortForwardRequest__Output>('PortForwardRequest', {
      pod_sandbox_id: sandboxId,
      port: [80],
    });
    world.fake.fail('container.inspect', dockerError(500, 'boom'));
    expect((await failure(portForward(world.deps)(req, callContext()))).code).toBe(status.INTERNAL);
    world.fake.exitContainer(sandboxId, 0);
    expect((await failure(portForward(world.deps)(req, callContext()))).code).toBe(
      status.FAILED_PRECONDITION,
    );
  });
});
