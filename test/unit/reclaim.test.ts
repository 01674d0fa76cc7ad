import { isReadOnlyMethod } from '../../src/grpc/handler';
import { isReclaimActivity, lastResortGc, mallocTrim, QuietReclaim } from '../../src/process/reclaim';

/**
 * Memory given back after a burst of changes: once things are quiet, never more often than the
 * interval, never while changes go on; and the steps the executable uses exist on this Node.js.
 */
describe('QuietReclaim', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    jest.useFakeTimers({ now: clock });
  });
  afterEach(() => jest.useRealTimers());
  /** Fake time forward: the timers and the reclaim's clock together. */
  const advance = (ms: number): void => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };
  const make = (steps: Array<() => void>): QuietReclaim =>
    new QuietReclaim({ quietMs: 3000, minIntervalMs: 30_000, steps, now: () => clock });

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
