import { status } from '@grpc/grpc-js';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { runningContainer, withImages, withStreaming } from '../../support/cri-fixtures';
import type { AttachRequest__Output } from '../../../src/generated/runtime/v1/AttachRequest';
import { attach } from '../../../src/runtime/attach';
import { dockerError, dockerTimeout } from '../../support/fake-engine';

describe('Attach', () => {
  it.each([
    ['no stream', { stdout: false }, status.INVALID_ARGUMENT],
    ['tty with stderr', { tty: true, stderr: true }, status.INVALID_ARGUMENT],
    ['an unknown container', { container_id: '8'.repeat(64) }, status.NOT_FOUND],
  ])('%s → its code', async (_what, fields, code) => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const { id } = await runningContainer(world);
    const req = criRequest<AttachRequest__Output>('AttachRequest', {
      container_id: id,
      stdout: true,
      ...fields,
    });
    expect((await failure(attach(world.deps)(req, callContext()))).code).toBe(code);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('inspect: %s → its gRPC code', async (_what, err, code) => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const { id } = await runningContainer(world);
    world.fake.fail('container.inspect', err);
    const f = await failure(
      attach(world.deps)(
        criRequest<AttachRequest__Output>('AttachRequest', { container_id: id, stdout: true }),
        callContext(),
      ),
    );
    expect(f.code).toBe(code);
  });
});
