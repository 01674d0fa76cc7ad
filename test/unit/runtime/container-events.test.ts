import { EventEmitter } from 'events';
import type * as grpc from '@grpc/grpc-js';
import type { ContainerEventResponse } from '../../../src/generated/runtime/v1/ContainerEventResponse';
import type { GetEventsRequest__Output } from '../../../src/generated/runtime/v1/GetEventsRequest';
import { status } from '@grpc/grpc-js';
import { closeEventStreams, EventHub, getContainerEvents } from '../../../src/runtime/container-events';
import { fakeDeps, type FakeWorld } from '../../support/fake-deps';
import {
  containerConfig,
  createIn,
  runningContainer,
  runSandbox,
  withImages,
} from '../../support/cri-fixtures';

/**
 * The server side of one GetContainerEvents stream, as grpc-js hands it to the handler. Its buffer
 * takes `room` writes (unbounded by default); the write that fills it answers false, as grpc-js's
 * does, and drain() empties it and says so.
 */
class FakeStreamCall extends EventEmitter {
  readonly request = {} as GetEventsRequest__Output;
  readonly written: ContainerEventResponse[] = [];
  readonly errors: Array<{ code: number; details: string }> = [];
  cancelled = false;
  ended = false;
  private buffered = 0;
  constructor(public room = Infinity) {
    super();
    this.on('error', (e: { code: number; details: string }) => this.errors.push(e));
  }
  write(ev: ContainerEventResponse): boolean {
    if (this.ended) throw new Error('write after end');
    this.written.push(ev);
    this.buffered++;
    return this.buffered < this.room;
  }
  /** The client read everything written so far. */
  drain(): void {
    this.buffered = 0;
    this.emit('drain');
  }
  end(): void {
    this.ended = true;
  }
}

function open(world: FakeWorld, room = Infinity): FakeStreamCall {
  const call = new FakeStreamCall(room);
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
    await settle(() => call.written.length >= 2 && world.deps.eventHub?.busyPods() === 0);
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

  /** Pod A's exited container waits for its log drain (`waiting`) until `release` is called. */
  function slowDrainOf(world: FakeWorld, id: string): { waiting: Promise<void>; release: () => void } {
    let release = (): void => undefined;
    let entered = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const waiting = new Promise<void>((r) => (entered = r));
    world.logs.awaitComplete = async (ids) => {
      if (![...ids].includes(id)) return;
      entered();
      await gate;
    };
    return { waiting, release };
  }

  const typesOf = (call: FakeStreamCall, id: string): string[] =>
    call.written.filter((e) => e.container_id === id).map((e) => String(e.container_event_type));

  it('reports pod B at once while pod A’s status waits for a slow log drain, each pod in order', async () => {
    const world = withImages(fakeDeps());
    const a = await runningContainer(world);
    const call = open(world);
    const drain = slowDrainOf(world, a.id);
    await world.deps.engine.stopContainer(a.id, 0);
    await drain.waiting;
    await world.deps.engine.removeContainer(a.id);
    // Pod B's whole life while pod A's stop is still being reported.
    const b = await runningContainer(world);
    await world.deps.engine.stopContainer(b.id, 0);
    await world.deps.engine.removeContainer(b.id);
    await settle(() => typesOf(call, b.id).length >= 4);
    expect(typesOf(call, b.id)).toEqual([
      'CONTAINER_CREATED_EVENT',
      'CONTAINER_STARTED_EVENT',
      'CONTAINER_STOPPED_EVENT',
      'CONTAINER_DELETED_EVENT',
    ]);
    expect(typesOf(call, b.sandboxId)).toEqual(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT']);
    // Pod A's events wait for its drain, and then come in the order they happened.
    expect(typesOf(call, a.id)).toEqual([]);
    drain.release();
    await settle(() => typesOf(call, a.id).length >= 2);
    expect(typesOf(call, a.id)).toEqual(['CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
    expect(world.deps.eventHub?.busyPods()).toBe(0);
  });

  it('writes no more while the stream’s buffer is full, and the rest in order once it drains', async () => {
    const world = withImages(fakeDeps());
    const call = open(world, 1);
    const sandboxId = await runSandbox(world);
    const ids = [await createIn(world, sandboxId, containerConfig('one'))];
    ids.push(await createIn(world, sandboxId, containerConfig('two')));
    // Every change handled: the hub has nothing under way, the rest waits in the subscriber's queue.
    await settle(() => world.deps.eventHub?.busyPods() === 0);
    // The first write filled the buffer: nothing more until the client reads.
    expect(call.written.map((e) => e.container_id)).toEqual([sandboxId]);
    // Each drain lets one more through while each write fills the buffer again.
    call.drain();
    expect(call.written).toHaveLength(2);
    call.room = Infinity;
    call.drain();
    await settle(() => call.written.length >= 4);
    expect(call.written.map((e) => [e.container_id, e.container_event_type])).toEqual([
      [sandboxId, 'CONTAINER_CREATED_EVENT'],
      [sandboxId, 'CONTAINER_STARTED_EVENT'],
      [ids[0], 'CONTAINER_CREATED_EVENT'],
      [ids[1], 'CONTAINER_CREATED_EVENT'],
    ]);
    expect(call.errors).toEqual([]);
  });

  it('ends a stalled client’s stream RESOURCE_EXHAUSTED at its bound; the others go on', async () => {
    const world = withImages(fakeDeps());
    world.deps.eventHub = new EventHub(world.deps, { maxQueued: 2 });
    const stalled = open(world, 1);
    const reader = open(world);
    // Sandbox created + started, then three containers created: five events.
    const sandboxId = await runSandbox(world);
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three'])
      ids.push(await createIn(world, sandboxId, containerConfig(name)));
    await settle(() => reader.written.length >= 5 && stalled.errors.length > 0);
    expect(reader.written.map((e) => e.container_id)).toEqual([sandboxId, sandboxId, ...ids]);
    expect(reader.errors).toEqual([]);
    // One written (which filled its buffer), two queued, the fourth over the bound.
    expect(stalled.errors).toEqual([
      {
        code: status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/fell behind by more than 2 events/),
      },
    ]);
    expect(stalled.ended).toBe(true);
    // Its queue is dropped: a late drain writes nothing to the ended stream.
    stalled.drain();
    await new Promise((r) => setImmediate(r));
    expect(stalled.written).toHaveLength(1);
    // The reader keeps going.
    await world.deps.engine.startContainer(ids[0]);
    await settle(() => reader.written.length >= 6);
    expect(reader.written[5]).toMatchObject({
      container_id: ids[0],
      container_event_type: 'CONTAINER_STARTED_EVENT',
    });
  });
});
