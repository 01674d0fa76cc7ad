import { status } from '@grpc/grpc-js';
import { listContainers } from '../../../src/runtime/container-list';
import { listPodSandbox } from '../../../src/runtime/sandbox-list';
import { containerStats, listContainerStats } from '../../../src/runtime/container-stats';
import { listPodSandboxStats, podSandboxStats } from '../../../src/runtime/pod-sandbox-stats';
import { listPodSandboxMetrics } from '../../../src/runtime/metric-descriptors';
import { containerStatus } from '../../../src/runtime/container-status';
import { podSandboxStatus } from '../../../src/runtime/sandbox-status';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerUnreachable } from '../../support/fake-engine';
import { runningContainer, withImages } from '../../support/cri-fixtures';
import type { Deps } from '../../../src/deps';

type Call = (deps: Deps, ids: { sandboxId: string; id: string }) => Promise<unknown>;

/** Every call that answers from the index, and the two statuses (which ask the engine instead). */
const CALLS: Array<[string, Call]> = [
  ['ListContainers', (d) => listContainers(d)(criRequest('ListContainersRequest'), callContext())],
  ['ListPodSandbox', (d) => listPodSandbox(d)(criRequest('ListPodSandboxRequest'), callContext())],
  [
    'ListContainerStats',
    (d) => listContainerStats(d)(criRequest('ListContainerStatsRequest'), callContext()),
  ],
  [
    'ListPodSandboxStats',
    (d) => listPodSandboxStats(d)(criRequest('ListPodSandboxStatsRequest'), callContext()),
  ],
  [
    'ListPodSandboxMetrics',
    (d) => listPodSandboxMetrics(d)(criRequest('ListPodSandboxMetricsRequest'), callContext()),
  ],
  [
    'ContainerStats',
    (d, { id }) =>
      containerStats(d)(criRequest('ContainerStatsRequest', { container_id: id }), callContext()),
  ],
  [
    'PodSandboxStats',
    (d, { sandboxId }) =>
      podSandboxStats(d)(criRequest('PodSandboxStatsRequest', { pod_sandbox_id: sandboxId }), callContext()),
  ],
  [
    'ContainerStatus',
    (d, { id }) =>
      containerStatus(d)(criRequest('ContainerStatusRequest', { container_id: id }), callContext()),
  ],
  [
    'PodSandboxStatus',
    (d, { sandboxId }) =>
      podSandboxStatus(d)(
        criRequest('PodSandboxStatusRequest', { pod_sandbox_id: sandboxId }),
        callContext(),
      ),
  ],
];

describe('while the index is cut off from the engine', () => {
  let world: FakeWorld | undefined;
  afterEach(() => world?.index.stop());

  /** A pod with a running container, known to a following index; then the engine goes away. */
  async function engineGone() {
    world = withImages(fakeDeps());
    await world.index.start();
    const ids = await runningContainer(world);
    for (const op of ['events', 'container.list', 'container.inspect', 'index.inspect']) {
      world.fake.fail(op, dockerUnreachable(), { times: 1000 });
    }
    world.fake.endEventStreams();
    await new Promise<void>((r) => {
      const poll = (): void => (world!.index.isCutOff() ? r() : void setTimeout(poll, 5));
      poll();
    });
    return { world, ids };
  }

  it.each(CALLS)('%s answers UNAVAILABLE at once, not from memory', async (_name, call) => {
    const { world: w, ids } = await engineGone();
    const f = await failure(call(w.deps, ids));
    expect(f.code).toBe(status.UNAVAILABLE);
    expect(f.message).toMatch(/docker engine unreachable/);
  });

  it('an index never started (filled by refreshes only) is not cut off', async () => {
    world = withImages(fakeDeps());
    await runningContainer(world);
    expect(world.index.isCutOff()).toBe(false);
    const res = await listContainers(world.deps)(criRequest('ListContainersRequest'), callContext());
    expect(res.containers).toHaveLength(1);
  });
});
