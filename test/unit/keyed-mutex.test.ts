import { KeyedMutex } from '../../src/concurrency/keyed-mutex';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedMutex', () => {
  it('serializes one key, runs keys in parallel, survives failures and forgets idle keys', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const job = (key: string, name: string, ms: number, fail = false) =>
      m.run(key, async () => {
        order.push(`start ${name}`);
        await tick(ms);
        order.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([
      job('a', 'a1', 30, true),
      job('a', 'a2', 1),
      job('b', 'b1', 5),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(order.indexOf('end a1')).toBeLessThan(order.indexOf('start a2'));
    expect(order.indexOf('start b1')).toBeLessThan(order.indexOf('end a1'));
    expect(m.size()).toBe(0);
  });
});
