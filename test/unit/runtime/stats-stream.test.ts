import { status } from '@grpc/grpc-js';
import type { ListContainerStatsRequest__Output } from '../../../src/generated/runtime/v1/ListContainerStatsRequest';
import type { ListPodSandboxMetricsRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxMetricsRequest';
import type { ListPodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/ListPodSandboxStatsRequest';
import type { StopPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/StopPodSandboxRequest';
import type { StreamContainerStatsRequest__Output } from '../../../src/generated/runtime/v1/StreamContainerStatsRequest';
import type { StreamPodSandboxMetricsRequest__Output } from '../../../src/generated/runtime/v1/StreamPodSandboxMetricsRequest';
import type { StreamPodSandboxStatsRequest__Output } from '../../../src/generated/runtime/v1/StreamPodSandboxStatsRequest';
import { listContainerStats } from '../../../src/runtime/container-stats';
import { listPodSandboxMetrics } from '../../../src/runtime/metric-descriptors';
import { listPodSandboxStats } from '../../../src/runtime/pod-sandbox-stats';
import { stopPodSandbox } from '../../../src/runtime/sandbox-stop';
import {
  streamContainerStats,
  streamPodSandboxMetrics,
  streamPodSandboxStats,
} from '../../../src/runtime/stats-stream';
import { callContext, criRequest, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { withFakeStats, type FakeStats } from '../../support/fake-stats';
import { FakeServerStream, runStream, type StreamFailure } from '../../support/fake-stream-call';
import { containerConfig, createIn, runSandbox, sandboxConfig, withImages } from '../../support/cri-fixtures';

/** `value` without its `timestamp` fields: pod answers stamp the time they were made. */
function untimed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untimed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'timestamp')
        .map(([k, v]) => [k, untimed(v)]),
    );
  }
  return value;
}

async function world(): Promise<{ w: FakeWorld; fake: FakeStats; web: string; db: string; app: string }> {
  const w = withImages(fakeDeps());
  const fake = withFakeStats(w);
  const web = await runSandbox(w, sandboxConfig('web'));
  const db = await runSandbox(w, sandboxConfig('db'));
  const app = await createIn(w, web, containerConfig('app'));
  await createIn(w, db, containerConfig('postgres'));
  fake.cpuNs.set(app, 4242n);
  return { w, fake, web, db, app };
}
type World = Awaited<ReturnType<typeof world>>;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StreamContainerStats', () => {
  const stream = (x: World, filter?: Record<string, unknown>) =>
    runStream(
      streamContainerStats(x.w.deps),
      criRequest<StreamContainerStatsRequest__Output>(
        'StreamContainerStatsRequest',
        filter ? { filter } : {},
      ),
    );
  const list = (x: World, filter?: Record<string, unknown>) =>
    listContainerStats(x.w.deps)(
      criRequest<ListContainerStatsRequest__Output>('ListContainerStatsRequest', filter ? { filter } : {}),
      callContext(),
    );

  it.each([
    ['no filter', () => undefined, 2],
    ['an id', (x: World) => ({ id: x.app }), 1],
    ['a pod', (x: World) => ({ pod_sandbox_id: x.db.slice(0, 12) }), 1],
    ['a label selector', () => ({ label_selector: { tier: 'postgres' } }), 1],
    ['an unknown id', () => ({ id: 'c'.repeat(64) }), 0],
    ['an unknown pod', () => ({ pod_sandbox_id: 'd'.repeat(64) }), 0],
  ])('sends ListContainerStats’ readings, filtered by %s, and ends OK', async (_what, filter, count) => {
    const x = await world();
    const call = await stream(x, filter(x));
    expect(call.items('container_stats')).toEqual((await list(x, filter(x))).stats);
    expect(call.items('container_stats')).toHaveLength(count);
    expect(call.ended).toBe(true);
  });

  it('a failed reading ends the stream with INTERNAL and its message', async () => {
    const x = await world();
    x.fake.failure = new Error('cgroup vanished');
    await expect(stream(x)).rejects.toMatchObject<StreamFailure>({
      code: status.INTERNAL,
      details: 'cgroup vanished',
    });
  });
});

describe('StreamPodSandboxStats', () => {
  const stream = (x: World, filter?: Record<string, unknown>) =>
    runStream(
      streamPodSandboxStats(x.w.deps),
      criRequest<StreamPodSandboxStatsRequest__Output>(
        'StreamPodSandboxStatsRequest',
        filter ? { filter } : {},
      ),
    );
  const list = (x: World, filter?: Record<string, unknown>) =>
    listPodSandboxStats(x.w.deps)(
      criRequest<ListPodSandboxStatsRequest__Output>('ListPodSandboxStatsRequest', filter ? { filter } : {}),
      callContext(),
    );

  it.each([
    ['no filter', () => undefined, ['db', 'web']],
    ['an id prefix', (x: World) => ({ id: x.web.slice(0, 12) }), ['web']],
    ['a label selector', () => ({ label_selector: { app: 'db' } }), ['db']],
    ['an unknown id', () => ({ id: 'e'.repeat(64) }), []],
    ['an id that is not hex', () => ({ id: 'web' }), []],
  ])('sends ListPodSandboxStats’ readings, filtered by %s, and ends OK', async (_what, filter, names) => {
    const x = await world();
    const call = await stream(x, filter(x));
    const sent = call.items('pod_sandbox_stats') as Array<{ attributes?: { metadata?: { name?: string } } }>;
    expect(untimed(sent)).toEqual(untimed((await list(x, filter(x))).stats));
    expect(sent.map((s) => s.attributes?.metadata?.name).sort()).toEqual(names);
    expect(call.ended).toBe(true);
  });

  it('reads in batches and, once cancelled, reads no further batch and sends nothing', async () => {
    const w = withImages(fakeDeps());
    const fake = withFakeStats(w);
    // One batch is 128 pods: 130 make two.
    for (let i = 0; i < 130; i++) await runSandbox(w, sandboxConfig(`p${i}`));
    let open: () => void = () => undefined;
    fake.gate = new Promise((r) => (open = r));
    const call = new FakeServerStream(
      criRequest<StreamPodSandboxStatsRequest__Output>('StreamPodSandboxStatsRequest', {}),
    );
    streamPodSandboxStats(w.deps)(call as never);
    // The first readings wait at the gate; the client goes away meanwhile.
    while (fake.reads.length === 0) await tick();
    call.emit('cancelled');
    open();
    // The batch under way is read to its end (8 at a time), then nothing more.
    while (fake.reads.length < 128) await tick();
    for (let i = 0; i < 10; i++) await tick();
    expect(fake.reads).toHaveLength(128);
    expect(call.writes).toEqual([]);
    expect(call.ended).toBe(false);
  });

  it('uncancelled, the same 130 pods all arrive', async () => {
    const w = withImages(fakeDeps());
    withFakeStats(w);
    for (let i = 0; i < 130; i++) await runSandbox(w, sandboxConfig(`p${i}`));
    const call = await runStream(
      streamPodSandboxStats(w.deps),
      criRequest<StreamPodSandboxStatsRequest__Output>('StreamPodSandboxStatsRequest', {}),
    );
    expect(call.items('pod_sandbox_stats')).toHaveLength(130);
  });
});

describe('StreamPodSandboxMetrics', () => {
  it('sends ListPodSandboxMetrics’ answer: the ready pods only', async () => {
    const x = await world();
    await stopPodSandbox(x.w.deps)(
      criRequest<StopPodSandboxRequest__Output>('StopPodSandboxRequest', { pod_sandbox_id: x.db }),
      callContext(),
    );
    const call = await runStream(
      streamPodSandboxMetrics(x.w.deps),
      criRequest<StreamPodSandboxMetricsRequest__Output>('StreamPodSandboxMetricsRequest', {}),
    );
    const listed = await listPodSandboxMetrics(x.w.deps)(
      criRequest<ListPodSandboxMetricsRequest__Output>('ListPodSandboxMetricsRequest', {}),
      callContext(),
    );
    expect(untimed(call.items('pod_sandbox_metrics'))).toEqual(untimed(listed.pod_metrics));
    expect(
      (call.items('pod_sandbox_metrics') as Array<{ pod_sandbox_id?: string }>).map((m) => m.pod_sandbox_id),
    ).toEqual([x.web]);
    expect(call.ended).toBe(true);
  });
});
