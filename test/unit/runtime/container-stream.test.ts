import type { ListContainersRequest__Output } from '../../../src/generated/runtime/v1/ListContainersRequest';
import type { StreamContainersRequest__Output } from '../../../src/generated/runtime/v1/StreamContainersRequest';
import { listContainers } from '../../../src/runtime/container-list';
import { streamContainers } from '../../../src/runtime/container-stream';
import { callContext, criRequest, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { FakeServerStream, runStream } from '../../support/fake-stream-call';
import {
  containerConfig,
  createIn,
  runningContainer,
  twoPodsAndASidecar,
  withImages,
} from '../../support/cri-fixtures';

const stream = (w: FakeWorld, filter?: Record<string, unknown>) =>
  runStream(
    streamContainers(w.deps),
    criRequest<StreamContainersRequest__Output>('StreamContainersRequest', filter ? { filter } : {}),
  );
const list = (w: FakeWorld, filter?: Record<string, unknown>) =>
  listContainers(w.deps)(
    criRequest<ListContainersRequest__Output>('ListContainersRequest', filter ? { filter } : {}),
    callContext(),
  );

describe('StreamContainers', () => {
  async function world() {
    return twoPodsAndASidecar(withImages(fakeDeps()));
  }
  type World = Awaited<ReturnType<typeof world>>;

  it.each([
    ['no filter', () => undefined, 3],
    ['an id', (x: World) => ({ id: x.a.id }), 1],
    ['an id prefix', (x: World) => ({ id: x.sidecar.slice(0, 12) }), 1],
    ['a pod', (x: World) => ({ pod_sandbox_id: x.b.sandboxId }), 2],
    ['a state', () => ({ state: { state: 'CONTAINER_CREATED' } }), 1],
    ['a label selector', () => ({ label_selector: { tier: 'sidecar' } }), 1],
    ['an unknown id', () => ({ id: 'f'.repeat(64) }), 0],
    ['an id that is not hex', () => ({ id: 'app' }), 0],
  ])('sends what ListContainers answers, filtered by %s, and ends OK', async (_what, filter, count) => {
    const x = await world();
    const call = await stream(x.w, filter(x));
    const expected = (await list(x.w, filter(x))).containers ?? [];
    expect(call.items('containers')).toEqual(expected);
    expect(call.items('containers')).toHaveLength(count);
    // Nothing to send is no chunk at all, not an empty one.
    expect(call.writes).toHaveLength(count ? 1 : 0);
    expect(call.ended).toBe(true);
  });

  it('cuts a large answer into chunks, every container once, in the list’s order', async () => {
    const w = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(w);
    // 80 KB of annotations each: four of them go past one chunk's 256 KiB.
    for (let i = 0; i < 4; i++) {
      await createIn(w, sandboxId, containerConfig(`big${i}`, { annotations: { note: 'x'.repeat(80_000) } }));
    }
    const call = await stream(w);
    expect(call.writes.length).toBeGreaterThan(1);
    expect(call.items('containers')).toEqual((await list(w)).containers);
  });

  it('a call cancelled before the answer is ready sends nothing and leaves the call to grpc-js', async () => {
    const w = withImages(fakeDeps());
    await runningContainer(w);
    const call = new FakeServerStream(
      criRequest<StreamContainersRequest__Output>('StreamContainersRequest', {}),
    );
    streamContainers(w.deps)(call as never);
    call.emit('cancelled');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(call.writes).toEqual([]);
    expect(call.ended).toBe(false);
  });
});
