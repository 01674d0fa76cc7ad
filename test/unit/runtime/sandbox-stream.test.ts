import type { ListPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxRequest';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import type { StreamPodSandboxesRequest__Output } from '../../../src/generated/runtime/v1/StreamPodSandboxesRequest';
import { listPodSandbox } from '../../../src/runtime/sandbox-list';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import { streamPodSandboxes } from '../../../src/runtime/sandbox-stream';
import { callContext, criRequest, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { FakeServerStream, runStream } from '../../support/fake-stream-call';
import { runningContainer, runSandbox, sandboxConfig, withImages } from '../../support/cri-fixtures';

const stream = (w: FakeWorld, filter?: Record<string, unknown>) =>
  runStream(
    streamPodSandboxes(w.deps),
    criRequest<StreamPodSandboxesRequest__Output>('StreamPodSandboxesRequest', filter ? { filter } : {}),
  );
const list = (w: FakeWorld, filter?: Record<string, unknown>) =>
  listPodSandbox(w.deps)(
    criRequest<ListPodSandboxRequest__Output>('ListPodSandboxRequest', filter ? { filter } : {}),
    callContext(),
  );

describe('StreamPodSandboxes', () => {
  async function world() {
    const w = withImages(fakeDeps());
    const web = await runSandbox(w, sandboxConfig('web'));
    const db = await runSandbox(w, sandboxConfig('db'));
    await stopPodSandbox(w.deps)(
      criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: db }),
      callContext(),
    );
    return { w, web, db };
  }
  type World = Awaited<ReturnType<typeof world>>;

  it.each([
    ['no filter', () => undefined, ['db', 'web']],
    ['an id', (x: World) => ({ id: x.web }), ['web']],
    ['an id prefix', (x: World) => ({ id: x.db.slice(0, 10) }), ['db']],
    ['a state', () => ({ state: { state: 'SANDBOX_READY' } }), ['web']],
    ['a label selector', () => ({ label_selector: { app: 'db' } }), ['db']],
    ['an unknown id', () => ({ id: 'f'.repeat(64) }), []],
    ['an id that is not hex', () => ({ id: 'web' }), []],
  ])('sends what ListPodSandbox answers, filtered by %s, and ends OK', async (_what, filter, names) => {
    const x = await world();
    const call = await stream(x.w, filter(x));
    const items = call.items('pod_sandboxes') as Array<{ metadata?: { name?: string } }>;
    expect(items).toEqual((await list(x.w, filter(x))).items ?? []);
    expect(items.map((s) => s.metadata?.name).sort()).toEqual(names);
    expect(call.writes).toHaveLength(names.length ? 1 : 0);
    expect(call.ended).toBe(true);
  });

  it('never sends a workload container as a sandbox', async () => {
    const w = withImages(fakeDeps());
    const { sandboxId } = await runningContainer(w);
    const call = await stream(w);
    expect((call.items('pod_sandboxes') as Array<{ id?: string }>).map((s) => s.id)).toEqual([sandboxId]);
  });

  it('a call cancelled before the answer is ready sends nothing and leaves the call to grpc-js', async () => {
    const w = withImages(fakeDeps());
    await runSandbox(w);
    const call = new FakeServerStream(
      criRequest<StreamPodSandboxesRequest__Output>('StreamPodSandboxesRequest', {}),
    );
    streamPodSandboxes(w.deps)(call as never);
    call.emit('cancelled');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(call.writes).toEqual([]);
    expect(call.ended).toBe(false);
  });
});
