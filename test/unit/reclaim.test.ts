import { isReadOnlyMethod } from '../../src/grpc/handler';
import {
  heapSlackAtLeast,
  isReclaimActivity,
  lastResortGc,
  mallocTrim,
  nodeReclaimOptions,
  privateResident,
  PrivateGrowth,
  QuietReclaim,
} from '../../src/process/reclaim';

/**
 * Memory given back after a burst of changes: once things are quiet, never more often than the
 * interval, never while changes go on; and the steps the executable uses exist on this Node.js.
 */
/**
 * Fake timers and the reclaim's clock together, fresh for each test of the enclosing describe.
 * `advance` moves both; `tick` does it a second at a time, so that each timer reads its own moment.
 */
function fakeClock(): { now: () => number; advance: (ms: number) => void; tick: (ms: number) => void } {
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    jest.useFakeTimers({ now: clock });
  });
  afterEach(() => jest.useRealTimers());
  const advance = (ms: number): void => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };
  const tick = (ms: number): void => {
    for (let i = 0; i < ms; i += 1000) advance(1000);
  };
  return { now: () => clock, advance, tick };
}

describe('QuietReclaim', () => {
  const { now, advance } = fakeClock();
  const make = (steps: Array<() => void>): QuietReclaim =>
    new QuietReclaim({ quietMs: 3000, minIntervalMs: 30_000, steps, now });

  it('runs its steps once, after the burst has been quiet for quietMs', () => {
    const step = jest.fn();
    const r = make([step]);
    for (let i = 0; i < 10; i++) {
      r.activity();
      advance(1000);
    }
    // Changes every second: never quiet long enough.
    expect(step).not.toHaveBeenCalled();
    advance(1999);
    expect(step).not.toHaveBeenCalled();
    advance(1);
    expect(step).toHaveBeenCalledTimes(1);
    advance(120_000);
    expect(step).toHaveBeenCalledTimes(1);
    expect(r.runs).toBe(1);
  });

  it('waits out the least interval after a run, then runs for the later burst', () => {
    const step = jest.fn();
    const r = make([step]);
    r.activity();
    advance(3000);
    expect(step).toHaveBeenCalledTimes(1);
    r.activity();
    advance(3000);
    // Quiet again, but only 3 s after the last run: the next comes 30 s after it.
    expect(step).toHaveBeenCalledTimes(1);
    advance(26_999);
    expect(step).toHaveBeenCalledTimes(1);
    advance(1);
    expect(step).toHaveBeenCalledTimes(2);
  });

  it('runs the later steps when one throws', () => {
    const second = jest.fn();
    const r = make([
      () => {
        throw new Error('no');
      },
      second,
    ]);
    r.activity();
    advance(3000);
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('runs nothing once stopped', () => {
    const step = jest.fn();
    const r = make([step]);
    r.activity();
    r.stop();
    advance(60_000);
    expect(step).not.toHaveBeenCalled();
  });
});

describe('QuietReclaim on a steady node', () => {
  const { now, tick } = fakeClock();
  let r: QuietReclaim | undefined;
  afterEach(() => r?.stop());
  const make = (worth: { it: boolean }) => {
    const burst = jest.fn();
    const steady = jest.fn();
    r = new QuietReclaim({
      quietMs: 3000,
      minIntervalMs: 30_000,
      steps: [burst],
      steady: { everyMs: 60_000, steps: [steady], worthIt: () => worth.it },
      now,
    });
    return { burst, steady, r };
  };

  it.each([
    ['worth it: once a minute', true, 3],
    ['not worth it (little held beyond the live heap): never', false, 0],
  ])('with no changes at all, %s', (_what, worthIt, times) => {
    const { burst, steady } = make({ it: worthIt });
    tick(180_000);
    expect(steady).toHaveBeenCalledTimes(times);
    expect(burst).not.toHaveBeenCalled();
  });

  it('is left to a burst that ran lately or is about to run (which does more)', () => {
    const { burst, steady, r: q } = make({ it: true });
    tick(15_000);
    // The first look: nothing ran yet.
    expect(steady).toHaveBeenCalledTimes(1);
    tick(5000);
    q.activity();
    tick(3000);
    expect(burst).toHaveBeenCalledTimes(1);
    // Looks every 15 s until 83 s: each finds a run within the minute.
    tick(60_000);
    expect(steady).toHaveBeenCalledTimes(1);
    // Changes every second for a minute: the burst's run stays pending and the looks leave it be.
    for (let i = 0; i < 60; i++) {
      q.activity();
      tick(1000);
    }
    expect(steady).toHaveBeenCalledTimes(1);
    tick(3000);
    expect(burst).toHaveBeenCalledTimes(2);
    // A minute after that run, the next look (at most 15 s on) runs the steady steps.
    tick(60_000);
    expect(steady).toHaveBeenCalledTimes(1);
    tick(15_000);
    expect(steady).toHaveBeenCalledTimes(2);
  });

  it('runs nothing once stopped', () => {
    const { steady, r: q } = make({ it: true });
    q.stop();
    tick(300_000);
    expect(steady).not.toHaveBeenCalled();
  });
});

describe('QuietReclaim during a long burst', () => {
  const { now, tick } = fakeClock();
  let r: QuietReclaim | undefined;
  afterEach(() => r?.stop());
  const make = () => {
    const burst = jest.fn();
    const during = jest.fn();
    r = new QuietReclaim({
      quietMs: 3000,
      minIntervalMs: 30_000,
      steps: [burst],
      during: { everyMs: 5000, steps: [during] },
      now,
    });
    return { burst, during, r };
  };

  // [changes, one a second for this long; trims while they go on]: a burst that is over (no change
  // for quietMs) before the first period ends never trims; a longer one trims once a period, and the
  // trims stop with the burst.
  it.each([
    [1, 0],
    [3, 0],
    [4, 1],
    [6, 1],
    [60, 12],
  ])('changes for %i s: %i trims, then the burst run', (seconds, trims) => {
    const { burst, during, r: q } = make();
    for (let i = 0; i < seconds; i++) {
      q.activity();
      tick(1000);
    }
    expect(burst).not.toHaveBeenCalled();
    tick(120_000);
    expect(burst).toHaveBeenCalledTimes(1);
    expect(during).toHaveBeenCalledTimes(trims);
    expect(q.duringRuns).toBe(trims);
  });

  it('trims again in a later burst, and never once stopped', () => {
    const { during, r: q } = make();
    for (let burst = 0; burst < 2; burst++) {
      for (let i = 0; i < 11; i++) {
        q.activity();
        tick(1000);
      }
      tick(60_000);
    }
    expect(during).toHaveBeenCalledTimes(4);
    q.activity();
    q.stop();
    tick(60_000);
    expect(during).toHaveBeenCalledTimes(4);
  });
});

describe('heapSlackAtLeast', () => {
  it.each([
    [20, 19, 1, true],
    [20, 19.5, 1, false],
    [28.4, 19.9, 4, true],
    [15.9, 14.8, 4, false],
  ])('total %d MiB, used %d MiB, at least %d MiB: %s', (total, used, atLeast, want) => {
    const MiB = 2 ** 20;
    const stats = () => ({ total_heap_size: total * MiB, used_heap_size: used * MiB });
    expect(heapSlackAtLeast(atLeast * MiB, stats)()).toBe(want);
  });

  it('reads this process', () => {
    expect(typeof heapSlackAtLeast(0)()).toBe('boolean');
    expect(heapSlackAtLeast(0)()).toBe(true);
  });
});

describe('what counts as a change', () => {
  it('pod, container and image changes; not reads, exec probes or streams', () => {
    const changes = [
      'RunPodSandbox',
      'CreateContainer',
      'StartContainer',
      'StopPodSandbox',
      'RemoveContainer',
      'PullImage',
    ];
    const not = [
      'ListContainers',
      'ContainerStatus',
      'ListContainerStats',
      'Version',
      'ExecSync',
      'Exec',
      'Attach',
      'PortForward',
    ];
    for (const m of changes) expect([m, isReclaimActivity(m, isReadOnlyMethod)]).toEqual([m, true]);
    for (const m of not) expect([m, isReclaimActivity(m, isReadOnlyMethod)]).toEqual([m, false]);
  });
});

describe('the steps', () => {
  it('a last-resort collection is available without --expose-gc, and leaves gc() off the global', () => {
    const gc = lastResortGc();
    expect(gc).toBeDefined();
    gc?.();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });

  it('malloc_trim is there where node:ffi is (Node >= 26 on glibc), and absent without failing elsewhere', () => {
    const trim = mallocTrim();
    const hasFfi = Number(process.versions.node.split('.')[0]) >= 26 && process.platform === 'linux';
    if (hasFfi) {
      expect(trim).toBeDefined();
      trim?.();
    } else {
      expect(trim).toBeUndefined();
    }
  });
});

describe('privateResident', () => {
  it.each([
    ['Name:\tnode\nVmRSS:\t   50000 kB\nRssAnon:\t   23456 kB\nRssFile:\t   20000 kB\n', 23456 * 1024],
    ['RssAnon:\t0 kB\n', 0],
  ])('reads RssAnon from %j', (status, want) => {
    expect(privateResident(() => status)).toBe(want);
  });

  it.each([[undefined], ['VmRSS:\t 100 kB\n'], ['RssAnon: lots\n']])(
    'falls back to RSS when /proc says nothing usable (%j)',
    (status) => {
      const rss = privateResident(() => status);
      expect(rss).toBeGreaterThan(0);
      expect(Math.abs(rss - process.memoryUsage.rss())).toBeLessThan(64 * 2 ** 20);
    },
  );

  it('reads this process', () => {
    const anon = privateResident();
    expect(anon).toBeGreaterThan(1 << 20);
    expect(anon).toBeLessThanOrEqual(process.memoryUsage.rss());
  });
});

describe('PrivateGrowth', () => {
  const MiB = 2 ** 20;
  it.each([
    // private memory at the start, after the last mark (undefined: no mark), now; threshold; want
    [30, undefined, 33.9, 4, false],
    [30, undefined, 34, 4, true],
    [30, 40, 43, 4, false],
    [30, 40, 44.5, 4, true],
    // Smaller than at the mark (a page-out or a trim since): nothing to give back.
    [30, 40, 35, 4, false],
  ])('from %d MiB, marked at %p, now %d MiB, at least %d MiB: %s', (start, marked, now, atLeast, want) => {
    let value = start * MiB;
    const g = new PrivateGrowth(() => value);
    if (marked !== undefined) {
      value = marked * MiB;
      g.mark();
    }
    value = now * MiB;
    expect(g.atLeast(atLeast * MiB)()).toBe(want);
  });

  it('as the last step of a reclaim, the memory it left is the new base', async () => {
    let value = 50 * MiB;
    const g = new PrivateGrowth(() => value);
    const grown = g.atLeast(4 * MiB);
    value = 58 * MiB;
    expect(grown()).toBe(true);
    const reclaim = new QuietReclaim({
      quietMs: 0,
      minIntervalMs: 0,
      steps: [() => (value = 52 * MiB), g.mark],
    });
    reclaim.activity();
    await new Promise((resolve) => setTimeout(resolve, 20));
    reclaim.stop();
    expect(reclaim.runs).toBe(1);
    expect(grown()).toBe(false);
    value = 56 * MiB;
    expect(grown()).toBe(true);
  });
});

describe('nodeReclaimOptions: what a node runs, and in which order', () => {
  const MiB = 2 ** 20;
  const run = (steps: Array<() => void>): void => steps.forEach((step) => step());
  const make = (have: Array<'gc' | 'trim' | 'pageOut'>, slack = false) => {
    const ran: string[] = [];
    let memory = 40 * MiB;
    const growth = new PrivateGrowth(() => memory);
    const step = (name: string) => (have.includes(name as never) ? () => ran.push(name) : undefined);
    const options = nodeReclaimOptions({
      gc: step('gc'),
      trim: step('trim'),
      pageOut: step('pageOut'),
      growth,
      slack: () => slack,
    });
    return { ran, options, grow: (by: number) => (memory += by * MiB) };
  };

  it.each([
    // steps this process has; after a burst; steady node; during a burst
    [['gc', 'trim', 'pageOut'], 'gc trim pageOut', 'gc trim', 'gc trim'],
    [['gc', 'trim'], 'gc trim', 'gc trim', 'gc trim'],
    [['trim', 'pageOut'], 'trim pageOut', 'trim', 'trim'],
    [['pageOut'], 'pageOut', '', ''],
  ] as const)(
    'with %j: after a burst "%s", steady "%s", during "%s", each ending with the mark',
    (have, after, steady, during) => {
      const { ran, options } = make([...have]);
      expect(options).toBeDefined();
      const lists = { after: options!.steps, steady: options!.steady!.steps, during: options!.during!.steps };
      for (const [name, want] of Object.entries({ after, steady, during })) {
        ran.length = 0;
        const list = lists[name as keyof typeof lists];
        run(list.slice(0, -1));
        expect([name, ran.join(' ')]).toEqual([name, want]);
        // The last step is the growth mark, not one of the process's steps.
        ran.length = 0;
        list[list.length - 1]();
        expect(ran).toEqual([]);
      }
    },
  );

  it('is undefined when the process has no step at all', () => {
    expect(make([]).options).toBeUndefined();
  });

  it.each([
    [false, 0, false],
    [false, 3.9, false],
    [false, 4, true],
    [true, 0, true],
  ])('steady: heap slack %s, private memory grown %d MiB since the last run: %s', (slack, grew, want) => {
    const { options, grow } = make(['gc', 'trim'], slack);
    grow(grew);
    expect(options!.steady!.worthIt()).toBe(want);
  });

  it('a run marks what it left: the steady check then starts from there', () => {
    const { options, grow } = make(['gc', 'trim']);
    grow(6);
    expect(options!.steady!.worthIt()).toBe(true);
    run(options!.steady!.steps);
    expect(options!.steady!.worthIt()).toBe(false);
    grow(4);
    expect(options!.steady!.worthIt()).toBe(true);
    run(options!.during!.steps);
    expect(options!.steady!.worthIt()).toBe(false);
  });
});
