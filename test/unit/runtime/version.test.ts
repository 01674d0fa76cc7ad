import { status } from '@grpc/grpc-js';
import type { VersionRequest__Output } from '../../../src/generated/runtime/v1/VersionRequest';
import { version } from '../../../src/runtime/version';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { dockerTimeout, dockerUnreachable } from '../../support/fake-engine';

describe('Version', () => {
  it('answers the engine’s version under the runtime name "docker"', async () => {
    const world = fakeDeps();
    world.fake.engineInfo.ServerVersion = '20.10.24';
    const res = await version(world.deps)(
      criRequest<VersionRequest__Output>('VersionRequest'),
      callContext(),
    );
    expect(res).toMatchObject({
      runtime_name: 'docker',
      runtime_version: '20.10.24',
      runtime_api_version: 'v1',
    });
  });

  it.each([
    ['engine away', dockerUnreachable(), status.UNAVAILABLE],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('%s → its gRPC code', async (_what, err, code) => {
    const world = fakeDeps();
    world.fake.fail('version', err);
    const f = await failure(
      version(world.deps)(criRequest<VersionRequest__Output>('VersionRequest'), callContext()),
    );
    expect(f.code).toBe(code);
    expect(f.message).toContain('docker engine');
  });
});
