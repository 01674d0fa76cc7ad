import { status } from '@grpc/grpc-js';
import type { RuntimeConfigRequest__Output } from '../../../src/generated/runtime/v1/RuntimeConfigRequest';
import { runtimeConfig } from '../../../src/runtime/runtime-config';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { dockerError } from '../../support/fake-engine';

describe('RuntimeConfig', () => {
  it.each([
    ['systemd', 'SYSTEMD'],
    ['cgroupfs', 'CGROUPFS'],
  ])('reports the engine’s cgroup driver %s as %s', async (driver, expected) => {
    const world = fakeDeps();
    world.fake.engineInfo.CgroupDriver = driver;
    const res = await runtimeConfig(world.deps)(
      criRequest<RuntimeConfigRequest__Output>('RuntimeConfigRequest'),
      callContext(),
    );
    expect(res.linux?.cgroup_driver).toBe(expected);
  });

  it('fails with the engine', async () => {
    const world = fakeDeps();
    world.fake.fail('info', dockerError(500, 'boom'));
    const f = await failure(
      runtimeConfig(world.deps)(
        criRequest<RuntimeConfigRequest__Output>('RuntimeConfigRequest'),
        callContext(),
      ),
    );
    expect(f.code).toBe(status.INTERNAL);
  });
});
