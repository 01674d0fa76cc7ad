import { KeyedMutex } from '../../src/concurrency/keyed-mutex';
import { withLocks } from '../../src/concurrency/call-locks';
import type { CallContext } from '../../src/grpc/handler';

const ctx: CallContext = { signal: new AbortController().signal };

/** A handler that records when it starts and ends and waits until the test lets it finish. */
function gated(log: string[]) {
  const gates = new Map<string, () => void>();
  const impl = (req: { tag: string }) =>
    new Promise<string>((resolve) => {
      log.push(`start ${req.tag}`);
      gates.set(req.tag, () => {
        log.push(`end ${req.tag}`);
        resolve(req.tag);
      });
    });
  return { impl, open: (tag: string) => gates.get(tag)!() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('withLocks: the lock table applied at registration', () => {
  it('calls on one pod wait for each other; calls on other pods do not', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const g = gated(log);
    const call = withLocks(mutex, (req: { tag: string; pod: string }) => ({ pod: req.pod }), g.impl);
    const a = call({ tag: 'a', pod: 'p1' }, ctx);
    const b = call({ tag: 'b', pod: 'p1' }, ctx);
    const c = call({ tag: 'c', pod: 'p2' }, ctx);
    await tick();
    expect(log).toEqual(['start a', 'start c']);
    g.open('a');
    await a;
    await tick();
    expect(log).toEqual(['start a', 'start c', 'end a', 'start b']);
    g.open('b');
    g.open('c');
    await expect(Promise.all([b, c])).resolves.toEqual(['b', 'c']);
    expect(mutex.size()).toBe(0);
  });

  it('a name is reserved across pods: the second create of a name waits for the first', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const g = gated(log);
    const call = withLocks(
      mutex,
      (req: { tag: string; pod?: string }) => ({ pod: req.pod, name: 'n' }),
      g.impl,
    );
    const first = call({ tag: 'first' }, ctx);
    const retry = call({ tag: 'retry', pod: 'p' }, ctx);
    await tick();
    expect(log).toEqual(['start first']);
    g.open('first');
    await first;
    await tick();
    expect(log).toEqual(['start first', 'end first', 'start retry']);
    g.open('retry');
    await retry;
    expect(mutex.size()).toBe(0);
  });

  it('no lock when the request names nothing, and a failed handler frees its locks', async () => {
    const mutex = new KeyedMutex();
    const free = withLocks(
      mutex,
      () => ({}),
      async () => 'ok',
    );
    await expect(free({}, ctx)).resolves.toBe('ok');
    const failing = withLocks(
      mutex,
      () => ({ pod: 'p', name: 'n' }),
      async () => {
        throw new Error('boom');
      },
    );
    await expect(failing({}, ctx)).rejects.toThrow('boom');
    expect(mutex.size()).toBe(0);
  });
});
