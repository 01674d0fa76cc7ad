import * as protoLoader from '@grpc/proto-loader';
import { EventEmitter } from 'events';
import { status } from '@grpc/grpc-js';
import { chunkBySize, listStream } from '../../src/grpc/list-stream';
import { onCallFinished } from '../../src/grpc/handler';
import { cachedListSerializer, encodedItemSize } from '../../src/grpc/list-encoding';
import { LOADER_OPTIONS, protoPath } from '../../src/grpc/proto';

describe('list stream chunking', () => {
  it('puts every item in exactly one chunk, in order, within the budget', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ i, size: 1 + (i % 7) * 10 }));
    const chunks = chunkBySize(items, (x) => x.size, 100);
    expect(chunks.flat()).toEqual(items);
    for (const c of chunks) {
      expect(c.length).toBeGreaterThan(0);
      if (c.length > 1) expect(c.reduce((n, x) => n + x.size, 0)).toBeLessThanOrEqual(100);
    }
  });

  it('sends an item larger than the budget alone, and nothing for no items', () => {
    expect(chunkBySize([5, 500, 5], (x) => x, 100)).toEqual([[5], [500], [5]]);
    expect(chunkBySize([], () => 1, 100)).toEqual([]);
  });

  it('measures items as they are encoded in the message', () => {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    const generic = (def['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition).StreamContainers;
    const items = [
      { id: 'a'.repeat(64), labels: { x: 'y'.repeat(300) } },
      { id: 'b'.repeat(64), annotations: { big: 'z'.repeat(70_000) } },
    ];
    const res = { containers: items };
    const bytes = generic.responseSerialize(res);
    expect(items.reduce((n, c) => n + encodedItemSize('runtime.v1.Container', c), 0)).toBe(bytes.length);
    expect(cachedListSerializer('runtime.v1.Container', 'containers')(res).equals(bytes)).toBe(true);
  });
});

describe('listStream flow control', () => {
  /** A server call that takes writes but flushes only when the test says so. */
  class FakeCall extends EventEmitter {
    request = {};
    writes: Array<Record<string, unknown[]>> = [];
    callbacks: Array<() => void> = [];
    full = false;
    writableFinished = false;
    ended = false;
    write(msg: Record<string, unknown[]>, cb: () => void): boolean {
      this.writes.push(msg);
      this.callbacks.push(cb);
      return !this.full;
    }
    end(): void {
      this.ended = true;
      setImmediate(() => {
        this.writableFinished = true;
        this.emit('finish');
      });
    }
    flushOne(): void {
      this.callbacks.shift()?.();
    }
  }
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  const items = Array.from({ length: 50 }, (_, i) => ({ id: `${i}`.padStart(64, '0') }));
  const finishedCodes: Array<[string, number]> = [];
  onCallFinished((m, code) => finishedCodes.push([m, code]));

  it('keeps at most two chunks in the transport, and waits for drain when write says so', async () => {
    const call = new FakeCall();
    // ~70 bytes per container: chunks of 3 items with a 256-byte budget.
    listStream('StreamContainers', async () => items, 256)(call as never);
    await tick();
    expect(call.writes).toHaveLength(2);
    call.flushOne();
    await tick();
    expect(call.writes).toHaveLength(3);
    // The transport says it is full: nothing more until 'drain', whatever is flushed.
    call.full = true;
    call.flushOne();
    await tick();
    expect(call.writes).toHaveLength(4);
    call.flushOne();
    await tick();
    expect(call.writes).toHaveLength(4);
    call.full = false;
    call.emit('drain');
    await tick();
    while (!call.ended) {
      call.flushOne();
      await tick();
    }
    const sent = call.writes.flatMap((w) => w.containers as Array<{ id: string }>);
    expect(sent.map((c) => c.id)).toEqual(items.map((c) => c.id));
    await tick();
    expect(finishedCodes).toContainEqual(['StreamContainers', status.OK]);
  });

  it('stops at once when the client cancels, and stops reading batches', async () => {
    const call = new FakeCall();
    let batchesRead = 0;
    async function* batches(): AsyncGenerator<object[]> {
      for (let i = 0; i < 10; i++) {
        batchesRead++;
        yield items.slice(i * 5, i * 5 + 5).map((c) => ({ attributes: c }));
      }
    }
    finishedCodes.length = 0;
    listStream('StreamContainerStats', () => batches(), 256)(call as never);
    await tick();
    const writes = call.writes.length;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
    call.emit('cancelled');
    await tick();
    await tick();
    expect(call.writes).toHaveLength(writes);
    expect(call.ended).toBe(false);
    expect(batchesRead).toBeLessThan(10);
    expect(finishedCodes).toContainEqual(['StreamContainerStats', status.CANCELLED]);
  });
});
