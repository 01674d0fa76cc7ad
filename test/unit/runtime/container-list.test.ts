import type { ListContainersRequest__Output } from '../../../src/generated/runtime/v1/ListContainersRequest';
import { listContainers } from '../../../src/runtime/container-list';
import { callContext, criRequest, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { twoPodsAndASidecar, withImages } from '../../support/cri-fixtures';

const list = (world: FakeWorld, filter?: Record<string, unknown>) =>
  listContainers(world.deps)(
    criRequest<ListContainersRequest__Output>('ListContainersRequest', filter ? { filter } : {}),
    callContext(),
  );

describe('ListContainers', () => {
  async function world() {
    return twoPodsAndASidecar(withImages(fakeDeps()));
  }

  it('answers from the index, without asking Docker, and never lists sandboxes', async () => {
    const { w, a, b, sidecar } = await world();
    const calls = w.fake.calls.length;
    const res = await list(w);
    expect(w.fake.calls.length).toBe(calls);
    expect(res.containers?.map((c) => c.id).sort()).toEqual([a.id, b.id, sidecar].sort());
  });

  it.each([
    ['id', (x: Awaited<ReturnType<typeof world>>) => ({ id: x.a.id }), ['a']],
    ['id prefix', (x: Awaited<ReturnType<typeof world>>) => ({ id: x.a.id.slice(0, 9) }), ['a']],
    ['pod', (x: Awaited<ReturnType<typeof world>>) => ({ pod_sandbox_id: x.b.sandboxId }), ['b', 'sidecar']],
    ['state', () => ({ state: { state: 'CONTAINER_CREATED' } }), ['sidecar']],
    ['label selector', () => ({ label_selector: { tier: 'sidecar' } }), ['sidecar']],
    ['an unknown id', () => ({ id: 'f'.repeat(64) }), []],
  ])('filters by %s', async (_what, filter, expected) => {
    const x = await world();
    const res = await list(x.w, filter(x));
    const names = { [x.a.id]: 'a', [x.b.id]: 'b', [x.sidecar]: 'sidecar' };
    expect(res.containers?.map((c) => names[c.id!]).sort()).toEqual(expected);
  });

  it('shows a state change made through the engine at once', async () => {
    const { w, a } = await world();
    w.fake.exitContainer(a.id, 0);
    await w.deps.engine.stopContainer(a.id, 0).catch(() => undefined);
    const res = await list(w, { id: a.id });
    expect(res.containers?.[0]?.state).toBe('CONTAINER_EXITED');
  });
});
