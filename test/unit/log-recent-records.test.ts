import { RecentRecords } from '../../src/logs/recent-records';
import { before, formatInstant, minus, REORDER_WINDOW_NS, type Instant } from '../../src/logs/cri-time';

/** What position() must give: every record at or after the window before the latest, in order. */
function reference(records: Array<[number, number, number]>): unknown {
  if (records.length === 0) return undefined;
  let latest: Instant = { sec: records[0][0], nsec: records[0][1] };
  for (const [sec, nsec] of records) if (before(latest, { sec, nsec })) latest = { sec, nsec };
  const since = minus(latest, REORDER_WINDOW_NS);
  const window = records
    .filter(([sec, nsec]) => !before({ sec, nsec }, since))
    .map(([sec, nsec, units]): [string, number] => [formatInstant({ sec, nsec }), units]);
  return { ts: formatInstant(since), units: window.reduce((n, [, u]) => n + u, 0), window };
}

/** A small deterministic generator, so a failure names its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('RecentRecords', () => {
  it('holds nothing and answers nothing before the first record', () => {
    expect(new RecentRecords().position()).toBeUndefined();
  });

  // Steps in nanoseconds between records: bursts within one window (the ring grows past its first
  // 16), gaps beyond twice the window (the oldest are dropped and the ring wraps), and records
  // stamped a little earlier than the one before (two streams stored out of order).
  it.each([
    ['a burst of 100 within one window', 100, () => 1_000],
    ['records 300 ms apart: each window holds one or two', 200, () => 300_000_000],
    [
      'a mix of bursts, gaps and reordering',
      400,
      (r: () => number) => {
        const x = r();
        if (x < 0.1) return 2_000_000_000;
        if (x < 0.2) return -Math.floor(r() * 100_000);
        return Math.floor(r() * 20_000_000);
      },
    ],
  ])('%s: position() is the window before the latest record', (_name, n, step) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = rng(seed);
      const recent = new RecentRecords();
      const added: Array<[number, number, number]> = [];
      let t = 1_764_000_000n * 1_000_000_000n;
      for (let i = 0; i < n; i++) {
        t += BigInt(step(r));
        const rec: [number, number, number] = [
          Number(t / 1_000_000_000n),
          Number(t % 1_000_000_000n),
          1 + (i % 7),
        ];
        recent.add(...rec);
        added.push(rec);
        if (i % 13 === 0 || i === n - 1)
          expect([seed, i, recent.position()]).toEqual([seed, i, reference(added)]);
      }
    }
  });
});
