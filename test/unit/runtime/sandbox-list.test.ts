import type { ListPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxRequest';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import { listPodSandbox } from '../../../src/runtime/sandbox-list';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import { callContext, criRequest, fakeDeps } from '../../support/fake-deps';
import { runningContainer, runSandbox, sandboxConfig, withImages } from '../../support/cri-fixtures';

describe('ListPodSandbox', () => {
  async function world() {
    const w = withImages(fakeDeps());
    const web = await runSandbox(w, sandboxConfig('web'));
    const db = await runSandbox(w, sandboxConfig('db'));
    await stopPodSandbox(w.deps)(
      criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: db }),
      callContext(),
    );
    const { id: containerId } = await runningContainer(w);
    return { w, web, db, containerId };
  }

  const list = (w: ReturnType<typeof fakeDeps>, filter: Record<string, unknown> | null) =>
    listPodSandbox(w.deps)(
      criRequest<ListPodSandboxRequest__Output>('ListPodSandboxRequest', filter ? { filter } : {}),
      callContext(),
    );

  it('answers from the index, without asking Docker', async () => {
    const { w, web, db } = await world();
    const calls = w.fake.calls.length;
    const res = await list(w, null);
    expect(w.fake.calls.length).toBe(calls);
    expect(res.items?.map((s) => s.id)).toEqual(expect.arrayContaining([web, db]));
    expect(res.items).toHaveLength(3);
  });

  it.each([
    ['id', (ids: { web: string }) => ({ id: ids.web }), ['web']],
    ['id prefix', (ids: { web: string }) => ({ id: ids.web.slice(0, 10) }), ['web']],
    ['state', () => ({ state: { state: 'SANDBOX_NOTREADY' } }), ['db']],
    ['label selector', () => ({ label_selector: { app: 'web' } }), ['web']],
    ['unknown id', () => ({ id: 'f'.repeat(64) }), []],
  ])('filters by %s', async (_what, filter, names) => {
    const { w, web } = await world();
    const res = await list(w, filter({ web }));
    expect(res.items?.map((s) => s.metadata?.name).sort()).toEqual(names);
  });

  it('never lists a workload container as a sandbox', async () => {
    const { w, containerId } = await world();
    const res = await list(w, { id: containerId });
    expect(res.items).toEqual([]);
  });
});
