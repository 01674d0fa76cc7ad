import { EventEmitter } from 'events';
import type * as grpc from '@grpc/grpc-js';
import type { ContainerEventResponse } from '../../../src/generated/runtime/v1/ContainerEventResponse';
import type { GetEventsRequest__Output } from '../../../src/generated/runtime/v1/GetEventsRequest';
import { closeEventStreams, getContainerEvents } from '../../../src/runtime/container-events';
import { fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { runningContainer, withImages } from '../../support/cri-fixtures';

/** The server side of one GetContainerEvents stream, as grpc-js hands it to the handler. */
class FakeStreamCall extends EventEmitter {
  readonly request = {} as GetEventsRequest__Output;
  readonly written: ContainerEventResponse[] = [];
  cancelled = false;
  ended = false;
  write(ev: ContainerEventResponse): boolean {
    this.written.push(ev);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

function open(world: FakeWorld): FakeStreamCall {
  const call = new FakeStreamCall();
  getContainerEvents(world.deps)(
    call as unknown as grpc.ServerWritableStream<GetEventsRequest__Output, ContainerEventResponse>,
  );
  return call;
}

/** Waits until the hub has published what the index changes asked for (it works one change at a time). */
async function settle(until: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
  // Building a status may touch files (a loaded machine is slow there): wait a bounded while more.
  for (let i = 0; i < 300 && !until(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('GetContainerEvents', () => {
  it('reports each step of a container made through the engine, with its pod’s status', async () => {
    const world = withImages(fakeDeps());
    const call = open(world);
    const { sandboxId, id } = await runningContainer(world);
    await settle(() => call.written.filter((e) => e.container_id === id).length >= 2);
    const mine = call.written.filter((e) => e.container_id === id);
    expect(mine.map((e) => e.container_event_type)).toEqual([
      'CONTAINER_CREATED_EVENT',
      'CONTAINER_STARTED_EVENT',
    ]);
    expect(mine[1].pod_sandbox_status?.id).toBe(sandboxId);
    expect(
      call.written.filter((e) => e.container_id === sandboxId).map((e) => e.container_event_type),
    ).toEqual(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT']);
  });

  it('reports stop and delete, and nothing to a stream that has ended', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const call = open(world);
    const late = open(world);
    late.emit('cancelled');
    await world.deps.engine.stopContainer(id, 0);
    await world.deps.engine.removeContainer(id);
    await settle();
    expect(call.written.map((e) => e.container_event_type)).toEqual([
      'CONTAINER_STOPPED_EVENT',
      'CONTAINER_DELETED_EVENT',
    ]);
    expect(late.written).toEqual([]);
  });

  it('ends every stream when the app stops', () => {
    const world = fakeDeps();
    const calls = [open(world), open(world)];
    closeEventStreams(world.deps);
    expect(calls.map((c) => c.ended)).toEqual([true, true]);
  });
});
