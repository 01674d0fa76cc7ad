import * as grpc from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods } from '../support/pod-config';
import { Cri } from './container-support';
import { eventually } from './stats-helpers';
import type { ContainerEventResponse__Output } from '../../src/generated/runtime/v1/ContainerEventResponse';

// The project-level testTimeout is not applied to every run; these tests poll a real engine.
jest.setTimeout(120_000);

/** One GetContainerEvents subscriber on the real socket, collecting what arrives. */
function subscribe(shim: TestShim): {
  events: ContainerEventResponse__Output[];
  call: grpc.ClientReadableStream<ContainerEventResponse__Output>;
  done: Promise<string>;
} {
  const fn = (
    shim.client.runtime as unknown as Record<
      string,
      (req: object) => grpc.ClientReadableStream<ContainerEventResponse__Output>
    >
  ).GetContainerEvents;
  const call = fn.call(shim.client.runtime, {});
  const events: ContainerEventResponse__Output[] = [];
  call.on('data', (ev: ContainerEventResponse__Output) => events.push(ev));
  const done = new Promise<string>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve(grpc.status[err.code]));
    call.on('end', () => resolve('end'));
  });
  return { events, call, done };
}

const typesFor = (events: ContainerEventResponse__Output[], id: string) =>
  events.filter((e) => e.container_id === id).map((e) => e.container_event_type);

describe('GetContainerEvents', () => {
  let shim: TestShim;
  let cri: Cri;

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('streams created, started, stopped, deleted in order, with statuses, to every subscriber', async () => {
    const baseline = shim.app.deps.index.listenerCount('change');
    const a = subscribe(shim);
    const b = subscribe(shim);
    await eventually('both subscribers', async () =>
      shim.app.deps.index.listenerCount('change') > baseline ? true : undefined,
    );

    const pod = await cri.pod('events');
    const id = await cri.create(pod, { command: ['sleep', '3600'] });
    await shim.client.rt('StartContainer', { container_id: id });
    await eventually('the started event', async () =>
      typesFor(a.events, id).includes('CONTAINER_STARTED_EVENT') ? true : undefined,
    );
    await shim.client.rt('StopContainer', { container_id: id, timeout: 0 });
    await eventually('the stopped event', async () =>
      typesFor(a.events, id).includes('CONTAINER_STOPPED_EVENT') ? true : undefined,
    );
    await shim.client.rt('RemoveContainer', { container_id: id });
    const expected = [
      'CONTAINER_CREATED_EVENT',
      'CONTAINER_STARTED_EVENT',
      'CONTAINER_STOPPED_EVENT',
      'CONTAINER_DELETED_EVENT',
    ];
    for (const sub of [a, b]) {
      await eventually('all four events', async () =>
        typesFor(sub.events, id).length >= 4 ? true : undefined,
      );
      expect(typesFor(sub.events, id)).toEqual(expected);
    }

    const byType = new Map(
      a.events.filter((e) => e.container_id === id).map((e) => [e.container_event_type, e]),
    );
    const started = byType.get('CONTAINER_STARTED_EVENT')!;
    expect(started.pod_sandbox_status?.id).toBe(pod.id);
    expect(started.pod_sandbox_status?.state).toBe('SANDBOX_READY');
    expect(Number(started.created_at)).toBeGreaterThan(0);
    const mine = started.containers_statuses.find((s) => s.id === id);
    expect(mine?.state).toBe('CONTAINER_RUNNING');
    // The deleted container is gone from its pod's list.
    expect(
      byType.get('CONTAINER_DELETED_EVENT')!.containers_statuses.find((s) => s.id === id),
    ).toBeUndefined();
    // The sandbox's own life is reported too, under its id.
    expect(typesFor(a.events, pod.id).slice(0, 2)).toEqual([
      'CONTAINER_CREATED_EVENT',
      'CONTAINER_STARTED_EVENT',
    ]);

    // A client that goes away ends its stream; the other keeps receiving.
    a.call.cancel();
    expect(await a.done).toBe('CANCELLED');
    const id2 = await cri.create(pod, { command: ['true'] });
    await eventually('b sees the next container', async () =>
      typesFor(b.events, id2).includes('CONTAINER_CREATED_EVENT') ? true : undefined,
    );
    expect(typesFor(a.events, id2)).toEqual([]);
    b.call.cancel();
    await b.done;
    await eventually('no listener left', async () =>
      shim.app.deps.index.listenerCount('change') === baseline ? true : undefined,
    );
  });

  it('ends open streams cleanly when the shim stops', async () => {
    const other = await startShim();
    const baseline = other.app.deps.index.listenerCount('change');
    const s = subscribe(other);
    await eventually('the subscription', async () =>
      other.app.deps.index.listenerCount('change') > baseline ? true : undefined,
    );
    await other.stop();
    expect(['end', 'UNAVAILABLE', 'CANCELLED']).toContain(await s.done);
  });
});
