import * as protoLoader from '@grpc/proto-loader';
import { chunkBySize } from '../../src/grpc/list-stream';
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
