import { status } from '@grpc/grpc-js';
import type { UpdateRuntimeConfigRequest__Output } from '../../../src/generated/runtime/v1/UpdateRuntimeConfigRequest';
import { updateRuntimeConfig } from '../../../src/runtime/update-runtime-config';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';

const update = (world: FakeWorld, pod_cidr: string) =>
  updateRuntimeConfig(world.deps)(
    criRequest<UpdateRuntimeConfigRequest__Output>('UpdateRuntimeConfigRequest', {
      runtime_config: { network_config: { pod_cidr } },
    }),
    callContext(),
  );

/** A CNI mode's CIDR store. */
function withCidrStore(world: FakeWorld): string[][] {
  const sets: string[][] = [];
  let current: string[] = [];
  world.deps.network = {
    readiness: async () => ({ ready: true, reason: '', message: '' }),
    podCidrs: {
      get: () => current,
      set: async (c) => {
        current = c;
        sets.push(c);
      },
    },
  };
  return sets;
}

describe('UpdateRuntimeConfig', () => {
  it('hands a changed pod CIDR (dual-stack too) to the CNI store, once', async () => {
    const world = fakeDeps();
    const sets = withCidrStore(world);
    await update(world, '10.244.1.0/24,fd00:10:244:1::/64');
    await update(world, '10.244.1.0/24,fd00:10:244:1::/64');
    expect(sets).toEqual([['10.244.1.0/24', 'fd00:10:244:1::/64']]);
  });

  it.each([
    ['with the docker bridge (nothing to store)', false],
    ['when the CIDR is empty (the node has none yet)', true],
  ])('accepts the call %s', async (what, cni) => {
    const world = fakeDeps();
    const sets = cni ? withCidrStore(world) : [];
    await expect(update(world, what.includes('empty') ? '' : '10.244.1.0/24')).resolves.toEqual({});
    expect(sets).toEqual([]);
    expect(world.fake.calls).toEqual([]);
  });

  it.each([['10.244.1.0'], ['10.244.1.0/33'], ['not-a-cidr'], ['10.244.1.0/24,bogus']])(
    'INVALID_ARGUMENT for pod_cidr "%s", naming the field',
    async (cidr) => {
      const f = await failure(update(fakeDeps(), cidr));
      expect(f.code).toBe(status.INVALID_ARGUMENT);
      expect(f.message).toContain('runtime_config.network_config.pod_cidr');
    },
  );
});
