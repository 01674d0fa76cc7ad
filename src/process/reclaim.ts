/**
 * Gives memory back once a burst of pod and container changes is over.
 *
 * Making or removing pods leaves the process larger than the work it still holds, in two places
 * (measured with the shipped executable at 110 pods × 2, bench/sea-memory.bench.ts, smaps):
 *   - V8 keeps the pages it freed in a pool for reuse: 10 s after every pod was removed, 36 pages
 *     (9 MiB) more than idle were resident after an ordinary full collection. V8's own memory reducer
 *     gives them back, but only some 30-50 s later. A last-resort collection (memory reducing, with
 *     compaction) gives them back at once.
 *   - glibc malloc keeps the freed chunks between live ones (the main arena grew 6 -> 10-14 MiB and
 *     never shrank; MALLOC_TRIM_THRESHOLD_ trims only the top of the heap). malloc_trim(0) returns
 *     the free pages inside it too: 5.8 MiB of the process's private memory after removal.
 * main.ts adds a third step, process/page-out.ts: the executable's pages the burst read.
 * They cost a few tens of milliseconds, so they run once the changes have stopped for a while, not
 * per call, and at most once per `minIntervalMs`. The kubelet's steady calls (lists, statuses,
 * stats) change nothing and do not count as activity: a steady node never pays for this.
 */
import v8 from 'v8';
import vm from 'vm';
import { logger } from '../logger';
import { readPseudoFile } from '../stats/cgroups';
import { libc } from './libc';

/**
 * Whether a finished CRI call counts as a change for the reclaim: anything but the read-only calls
 * (`readOnly`, from the gRPC layer) and the streaming and exec calls. Exec probes call ExecSync every
 * few seconds on a steady node; they make and drop no pods, so they would only buy a collection
 * every interval.
 */
export function isReclaimActivity(method: string, readOnly: (method: string) => boolean): boolean {
  return !readOnly(method) && !/^(ExecSync|Exec|Attach|PortForward)$/.test(method);
}

/** One way of giving memory back; throws when it cannot. */
export type ReclaimStep = () => void;

export interface QuietReclaimOptions {
  /** How long no change must have come before the steps run. */
  quietMs: number;
  /** The least time between two runs (a node that keeps changing gets one run per interval). */
  minIntervalMs: number;
  steps: ReclaimStep[];
  /**
   * A node whose calls keep coming but change nothing still fills V8's heap between collections,
   * and V8's own memory reducer waits for a lull in allocation that a kubelet's steady calls never
   * give: every `everyMs` without a run, when `worthIt()` says there is enough to give back,
   * `steps` run (the collection and malloc_trim; not the page-out, since what a steady node reads
   * it reads again).
   */
  steady?: { everyMs: number; steps: ReclaimStep[]; worthIt: () => boolean };
  /**
   * A long burst (the kubelet removing 110 pods takes about a minute) grows V8's heap with garbage
   * and malloc's arena with chunks freed between live ones until the burst's run: every `everyMs`
   * of a burst still going, `steps` run (the collection and malloc_trim; not the page-out, whose
   * pages the burst reads again), so the process stays near what is live while the burst lasts.
   */
  during?: { everyMs: number; steps: ReclaimStep[] };
  /** The clock (tests). */
  now?: () => number;
}

/** Runs `steps` once activity() has not been called for quietMs. */
export class QuietReclaim {
  private lastActivity = 0;
  private lastRun = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private steadyTimer: NodeJS.Timeout | undefined;
  private lastSteady = Number.NEGATIVE_INFINITY;
  private duringTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** How many times the steps have run after a burst. */
  runs = 0;
  /** How many times the `during` steps have run. */
  duringRuns = 0;

  constructor(private readonly opts: QuietReclaimOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.steady) {
      // Looked at four times per period, so that a run comes at most a quarter period late.
      this.steadyTimer = setInterval(() => this.steadyDue(), opts.steady.everyMs / 4);
      this.steadyTimer.unref();
    }
  }

  /** Something changed: run the steps once things have been quiet long enough. */
  activity(): void {
    this.lastActivity = this.now();
    // One timer for a whole burst: it looks at the time of the last change when it fires.
    if (!this.timer) this.arm(this.opts.quietMs);
    if (this.opts.during && !this.duringTimer) {
      this.duringTimer = setInterval(() => this.duringDue(), this.opts.during.everyMs);
      this.duringTimer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.steadyTimer);
    this.steadyTimer = undefined;
    clearInterval(this.duringTimer);
    this.duringTimer = undefined;
  }

  private duringDue(): void {
    const during = this.opts.during;
    // The burst is over (its own run follows): nothing until the next one begins.
    if (!during || this.now() - this.lastActivity >= this.opts.quietMs) {
      clearInterval(this.duringTimer);
      this.duringTimer = undefined;
      return;
    }
    this.duringRuns++;
    this.runSteps(during.steps, 'memory trimmed during a burst of changes');
  }

  private steadyDue(): void {
    const steady = this.opts.steady;
    // A burst's run is pending (it does more), or one ran lately: nothing to do.
    if (!steady || this.timer) return;
    const t = this.now();
    if (t - Math.max(this.lastRun, this.lastSteady) < steady.everyMs) return;
    if (!steady.worthIt()) return;
    this.lastSteady = t;
    this.runSteps(steady.steps, 'memory reclaimed on a steady node');
  }

  private runSteps(steps: ReclaimStep[], message: string): void {
    const started = process.hrtime.bigint();
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        logger.debug('memory reclaim step failed', { error: (err as Error).message });
      }
    }
    logger.debug(message, { ms: Number(process.hrtime.bigint() - started) / 1e6 });
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.due(), Math.max(0, ms));
    // Never what keeps the process alive.
    this.timer.unref();
  }

  private due(): void {
    this.timer = undefined;
    const t = this.now();
    const wait = Math.max(
      this.lastActivity + this.opts.quietMs - t,
      this.lastRun + this.opts.minIntervalMs - t,
    );
    if (wait > 0) {
      this.arm(wait);
      return;
    }
    this.lastRun = t;
    this.runs++;
    this.runSteps(this.opts.steps, 'memory reclaimed after a burst of changes');
  }
}

/**
 * Whether V8 holds at least `bytes` of heap beyond its live objects: pages its collections freed
 * and kept, and room it reserved for growth. Reading the statistics costs microseconds.
 */
export function heapSlackAtLeast(
  bytes: number,
  stats: () => { total_heap_size: number; used_heap_size: number } = v8.getHeapStatistics,
): () => boolean {
  return () => {
    const h = stats();
    return h.total_heap_size - h.used_heap_size >= bytes;
  };
}

/** The process's private resident memory (RssAnon), in bytes; RSS where /proc does not say. */
export function privateResident(
  status: () => string | undefined = () => readPseudoFile('/proc/self/status'),
): number {
  const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(status() ?? '');
  return m ? Number(m[1]) * 1024 : process.memoryUsage.rss();
}

/**
 * How much private memory the process has gained since the last reclaim ran. V8's heap statistics
 * do not count the pages it keeps pooled after a collection, nor malloc's free chunks, and those
 * were most of what a node at 110 pods × 2 gained under the kubelet's steady calls: V8's pages in
 * smaps 11 MiB above idle for 4.7 MiB more live heap, malloc's main arena 4 MiB above, while the
 * heap's slack stayed under 3 MiB (bench/sea-memory.bench.ts with SEA_SMAPS). Private memory,
 * not RSS: the executable's pages that the calls read back after a page-out are not garbage.
 */
export class PrivateGrowth {
  private base: number;

  constructor(private readonly read: () => number = privateResident) {
    this.base = read();
  }

  /** A reclaim step, put last: what the reclaim left is the new base. */
  readonly mark: ReclaimStep = () => {
    this.base = this.read();
  };

  atLeast(bytes: number): () => boolean {
    return () => this.read() - this.base >= bytes;
  }
}

/** V8's gc() as its extension defines it (with --expose-gc), options included. */
type GcFunction = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: string;
}) => void;

/**
 * A last-resort collection: V8 collects everything it can, compacts, and returns its pooled pages.
 * gc() is only installed with --expose-gc, into contexts made while the flag is on: a context made
 * here for the purpose gives us the function without exposing it to the process's own global.
 * Undefined when this V8 refuses (flags frozen after start).
 */
export function lastResortGc(): ReclaimStep | undefined {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (!gc) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as GcFunction | undefined;
    } catch {
      gc = undefined;
    } finally {
      try {
        v8.setFlagsFromString('--no-expose-gc');
      } catch {
        // Flags frozen: nothing was changed either.
      }
    }
  }
  if (typeof gc !== 'function') return undefined;
  const collect = gc;
  return () => collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * glibc's malloc_trim(0) through node:ffi: the free pages anywhere in malloc's arenas go back to the
 * kernel, not only the top of the heap. Undefined where libc.ts cannot load it.
 */
export function mallocTrim(): ReclaimStep | undefined {
  const trim = libc({ malloc_trim: { arguments: ['uint64'], return: 'int32' } })?.malloc_trim;
  if (!trim) return undefined;
  return () => {
    trim(0n);
  };
}

/**
 * What V8 must hold beyond its live objects before a steady node collects on its own: an idle
 * process holds about 1 MiB (its young generation), one at 110 pods × 2 under the kubelet's steady
 * calls 8 MiB (bench/sea-memory.bench.ts).
 */
export const STEADY_SLACK_BYTES = 4 * 1024 * 1024;

/**
 * Or when the process's private memory has grown this much since the last reclaim: V8's pooled pages
 * and malloc's free chunks, which the heap's slack does not show (see PrivateGrowth).
 */
export const STEADY_GROWTH_BYTES = 4 * 1024 * 1024;

/**
 * How often the collection and malloc_trim run while a burst of changes goes on. Removing 110 pods
 * takes the kubelet about a minute, and without them the process grew all that time with garbage V8
 * had not yet collected and chunks malloc kept between live ones: its highest RSS while removing was
 * 7 MiB over its reading at 110 pods (bench/sea-memory.bench.ts). A trim costs little (2.9 ms for an
 * arena holding 10 MiB live with 10 MiB freed between, 0.2-0.3 ms once trimmed). The collection is
 * the last-resort kind and costs more: 52-177 ms each while 110 pods × 2 were removed, where an
 * ordinary full one took 15-32 ms. The ordinary one was measured and not kept: in 70 s runs of
 * bench/sea-memory.bench.ts it read 61.9 MiB at 110 pods and peaked at 64.4 while removing them
 * (means of four runs), the last-resort one 57.0 and 62.0 (five runs). Both builds' runs split
 * between a low and a high reading, so the difference rests on how often each landed high.
 */
export const DURING_BURST_MS = 5000;

/**
 * The reclaim a node runs (main.ts), from the steps this process has. After a burst: the
 * collection, the trim, then the page-out (last: the collection itself reads code the page-out
 * would otherwise drop first). On a steady node and during a long burst: the collection and the
 * trim, never the page-out (what they read is read again). Every run ends by marking the private
 * memory it left. Undefined when there is no step at all.
 */
export function nodeReclaimOptions(tools: {
  gc?: ReclaimStep;
  trim?: ReclaimStep;
  pageOut?: ReclaimStep;
  growth: PrivateGrowth;
  /** Whether V8 holds STEADY_SLACK_BYTES beyond its live heap (tests give their own). */
  slack?: () => boolean;
}): QuietReclaimOptions | undefined {
  // The collection first: the buffers it frees are malloc's, for the trim to give back.
  const collect = [tools.gc, tools.trim].filter((s): s is ReclaimStep => s !== undefined);
  const steps = tools.pageOut ? [...collect, tools.pageOut] : collect;
  if (steps.length === 0) return undefined;
  const slack = tools.slack ?? heapSlackAtLeast(STEADY_SLACK_BYTES);
  const grown = tools.growth.atLeast(STEADY_GROWTH_BYTES);
  return {
    quietMs: 3000,
    minIntervalMs: 30_000,
    steps: [...steps, tools.growth.mark],
    steady: { everyMs: 60_000, steps: [...collect, tools.growth.mark], worthIt: () => slack() || grown() },
    during: { everyMs: DURING_BURST_MS, steps: [...collect, tools.growth.mark] },
  };
}
