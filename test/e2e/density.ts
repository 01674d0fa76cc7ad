import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { readIfExists } from './check';
import type { Cluster, NodeHandle, Runtime } from './cluster';
import { sleep, waitFor } from './proc';

/**
 * `npm run e2e -- --density`: the kubelet's own load on a full node. DENSITY_PODS (default the
 * kubelet's maxPods, 110) pods × 2 busybox `sleep` containers on the first node, after an idle
 * reading and a warm-up (WARM_PODS pods made, polled and removed) and a second idle reading; once all are
 * Running, DCRI_E2E_DENSITY_SETTLE seconds (default 180: a kubelet that has just started 110 pods
 * keeps settling for minutes) for the start-up work to end, then
 * DCRI_E2E_DENSITY_SECONDS (default 180) of the kubelet's polling alone, sampled every 10 s:
 * CPU (utime+stime of the process and its reaped children, /proc/<pid>/stat) of the runtime, the
 * kubelet and the engine (dockerd, its containerd and the shims; for containerd the runtime is the
 * engine), RSS and RssAnon (/proc/<pid>/status), and the CRI calls the kubelet made per method
 * (its kubelet_runtime_operations_total, read through the apiserver before and after the window).
 * Then every pod is deleted and, once the kubelet has removed their containers, memory is read
 * again. DCRI_E2E_DENSITY_CYCLES (default 1) repeats the pods' making and removal that many times in
 * all, each later cycle with a shorter settle and window (memory only), so that a node that fills
 * and empties again and again shows whether anything is left behind cycle after cycle.
 * Writes bench/results/kubelet-density-<runtime>.json and prints a table.
 */

const BUCKET_S = 10;
const MiB = 2 ** 20;

interface Proc {
  name: string;
  pids: () => number[];
}

interface Mem {
  rss: number;
  anon: number;
}

interface ProcResult {
  cpuMeanPct: number;
  cpuP95Pct: number;
  cpuBucketsPct: number[];
  /** Processes summed in this row during the window (shims: one per container or pod). */
  processes: number;
  /** Node Ready with no pod ever run on this runtime: nothing compiled or allocated for pods yet. */
  idleCold: Mem | undefined;
  /** After the warm-up's pods were made, polled and removed: the idle the after-removal reading is held to. */
  idle: Mem | undefined;
  full: Mem;
  afterRemoval: Mem | undefined;
  /** Memory at each bucket of the window: a mean can hide a saw-tooth (collections, reclaims). */
  fullSeriesMiB: { rss: number[]; anon: number[] };
  /** Memory every 10 s from the deletion's end for AFTER_REMOVAL_S: when it settles, and where. */
  afterRemovalSeriesMiB: { rss: number[]; anon: number[] };
  /**
   * Mean of the readings after the 90 s one (100 s to AFTER_REMOVAL_S): a reading at one moment
   * lands anywhere on a minute's saw-tooth (the kubelet's polling fills the heap, the steady
   * reclaim empties it), a mean does not.
   */
  afterRemovalLateMean: Mem | undefined;
  /** The later cycles (DCRI_E2E_DENSITY_CYCLES > 1), in order. */
  laterCycles: CycleResult[];
}

/** One later cycle: the pods made again, followed at rest, removed, and followed after removal. */
type CycleResult = Pick<
  ProcResult,
  'full' | 'afterRemoval' | 'afterRemovalLateMean' | 'fullSeriesMiB' | 'afterRemovalSeriesMiB'
> & { secondsToAllRunning: number };

/** One process's readings out of readings of every process (a process gone has none). */
const readingsOf = (readings: Array<Record<string, Mem>>, name: string): Mem[] =>
  readings.map((a) => a[name]).filter((x): x is Mem => x !== undefined);

/** How long memory is followed after the pods were deleted (the 90 s reading stays the headline). */
const AFTER_REMOVAL_S = 180;

/**
 * The warm-up before the idle reading, as in `npm run bench sea-memory`: a few pods through every
 * call the full run makes (create, start, the kubelet's polling and stats, stop, remove), so code
 * compiled on first use and memory taken once is in the idle the after-removal reading is held to.
 * After their deletion the kubelet removes the containers on its next garbage collection (each
 * minute); WARM_GONE_S covers that.
 */
const WARM_PODS = Number(process.env.DCRI_E2E_DENSITY_WARM_PODS ?? 4);
const WARM_LOADED_S = 30;
const WARM_GONE_S = 90;

/** How many times in all the pods are made and removed (see the file's comment). */
const CYCLES = Math.max(1, Number(process.env.DCRI_E2E_DENSITY_CYCLES ?? 1));
/** A later cycle's settle and window: memory only, which the first cycle's 180 s show flat by then. */
const LATER_SETTLE_S = 60;
const LATER_WINDOW_S = 60;

const clkTck = (): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
};

/** utime+stime+cutime+cstime in clock ticks; 0 for a process gone. */
function ticks(pid: number): number {
  const stat = readIfExists(`/proc/${pid}/stat`);
  // comm may hold spaces: the fields after it start past the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14.
  return f.length > 14 ? Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) : 0;
}

function mem(pids: number[]): Mem {
  let rss = 0;
  let anon = 0;
  for (const pid of pids) {
    const s = readIfExists(`/proc/${pid}/status`);
    rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024;
    anon += Number(/RssAnon:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024;
  }
  return { rss, anon };
}

function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
}

const ppidOf = (pid: number): number => {
  const stat = readIfExists(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
};

/** The processes each row of the table sums, found afresh at every sample. */
function processes(runtime: Runtime, node: NodeHandle, dir: string): Proc[] {
  const one = (pid: number | undefined) => () => (pid ? [pid] : []);
  const rows: Proc[] = [
    {
      name: runtime === 'containerd' ? 'containerd (runtime and engine)' : runtime,
      pids: one(node.dcri.pid),
    },
    { name: 'kubelet', pids: one(node.kubelet.pid) },
  ];
  if (runtime !== 'containerd') {
    rows.push({ name: 'dockerd', pids: one(node.engine.pid) });
    rows.push({
      name: "dockerd's containerd",
      pids: () =>
        allPids().filter(
          (p) => ppidOf(p) === node.engine.pid && readIfExists(`/proc/${p}/comm`).trim() === 'containerd',
        ),
    });
  }
  rows.push({
    name: 'shims',
    pids: () =>
      allPids().filter((p) => {
        const cmd = readIfExists(`/proc/${p}/cmdline`);
        return cmd.includes('containerd-shim') && cmd.includes(`${dir}/`);
      }),
  });
  return rows;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
function p95(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

/** kubelet_runtime_operations_total by operation_type, from the kubelet's /metrics through the apiserver. */
async function criCalls(cluster: Cluster, node: NodeHandle): Promise<Record<string, number>> {
  const text = await cluster.kubectl.must(['get', '--raw', `/api/v1/nodes/${node.name}/proxy/metrics`]);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^kubelet_runtime_operations_total\{operation_type="([^"]+)"\} (\S+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

function podList(ns: string, pods: number, image: string, app = 'density'): object {
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: Array.from({ length: pods }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${app}-${String(i).padStart(3, '0')}`, namespace: ns, labels: { app } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: ['a', 'b'].map((name) => ({
          name,
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '1000000'],
        })),
      },
    })),
  };
}

async function runningCount(cluster: Cluster, ns: string, app = 'density'): Promise<number> {
  const r = await cluster.kubectl.run([
    'get',
    'pods',
    '-n',
    ns,
    '-l',
    `app=${app}`,
    '-o',
    'jsonpath={range .items[*]}{.status.phase}/{.status.containerStatuses[*].ready}{"\\n"}{end}',
  ]);
  return r.stdout.split('\n').filter((l) => l === 'Running/true true').length;
}

export interface DensityResult {
  runtime: Runtime;
  file: string;
  table: string;
}

export async function runDensity(
  cluster: Cluster,
  ns: string,
  runtime: Runtime,
  opts: { dir: string; repo: string; featureGates: Record<string, boolean>; log: (m: string) => void },
): Promise<DensityResult> {
  const { log } = opts;
  const pods = Number(process.env.DENSITY_PODS ?? 110);
  const settleS = Number(process.env.DCRI_E2E_DENSITY_SETTLE ?? 180);
  const windowS = Number(process.env.DCRI_E2E_DENSITY_SECONDS ?? 180);
  const image = process.env.DCRI_E2E_DENSITY_IMAGE ?? 'busybox:latest';
  const node = cluster.nodes[0]!;
  const rows = processes(runtime, node, opts.dir);
  const tck = clkTck();
  const memOf = () => Object.fromEntries(rows.map((r) => [r.name, mem(r.pids())]));

  log(`density: idle node, 30 s`);
  await sleep(30_000);
  const idleCold = memOf();

  if (WARM_PODS > 0) {
    log(`density: warm-up, ${WARM_PODS} pods made, polled ${WARM_LOADED_S} s, deleted`);
    await cluster.kubectl.apply(podList(ns, WARM_PODS, image, 'density-warm'));
    await waitFor(
      `${WARM_PODS} warm-up pods Running`,
      async () => ((await runningCount(cluster, ns, 'density-warm')) >= WARM_PODS ? true : undefined),
      300_000,
    );
    await sleep(WARM_LOADED_S * 1000);
    await cluster.kubectl.run(
      ['delete', 'pods', '-n', ns, '-l', 'app=density-warm', '--wait=true', '--timeout=300s'],
      { timeoutMs: 330_000 },
    );
    await sleep(WARM_GONE_S * 1000);
    log(`density: idle after the warm-up, 30 s`);
    await sleep(30_000);
  }
  const idle = memOf();

  /** The pods made and Running: how long that took, in seconds. */
  const makePods = async (cycle: number): Promise<number> => {
    log(`density: ${pods} pods × 2 containers (${image}), cycle ${cycle} of ${CYCLES}`);
    const t0 = Date.now();
    await cluster.kubectl.apply(podList(ns, pods, image));
    await waitFor(
      `${pods} density pods Running`,
      async () => ((await runningCount(cluster, ns)) >= pods ? true : undefined),
      1_200_000,
    );
    return (Date.now() - t0) / 1000;
  };
  /** The pods deleted, then memory every 10 s for AFTER_REMOVAL_S. */
  const removeAndFollow = async (): Promise<Array<Record<string, Mem>>> => {
    log('density: deleting the pods');
    await cluster.kubectl.run(
      ['delete', 'pods', '-n', ns, '-l', 'app=density', '--wait=true', '--timeout=600s'],
      {
        timeoutMs: 660_000,
      },
    );
    // The kubelet removes the containers of deleted pods on its next garbage collection (each
    // minute). Read every 10 s: the 90 s reading as before, and the series to see when it settles.
    const followed: Array<Record<string, Mem>> = [];
    for (let t = BUCKET_S; t <= AFTER_REMOVAL_S; t += BUCKET_S) {
      await sleep(BUCKET_S * 1000);
      followed.push(memOf());
    }
    return followed;
  };
  const meanMem = (ms: Mem[]): Mem => ({
    rss: Math.round(mean(ms.map((x) => x.rss))),
    anon: Math.round(mean(ms.map((x) => x.anon))),
  });
  /** The reading 90 s after the deletion, and the mean of the readings after it. */
  const afterOf = (followed: Array<Record<string, Mem>>, name: string) => {
    const ms = readingsOf(followed, name);
    const late = ms.slice(90 / BUCKET_S);
    return { at90: ms[90 / BUCKET_S - 1], lateMean: late.length ? meanMem(late) : undefined, ms };
  };

  const startS = await makePods(1);
  log(`density: all Running after ${startS.toFixed(0)} s; settling ${settleS} s`);
  await sleep(settleS * 1000);

  log(`density: sampling ${windowS} s in ${BUCKET_S} s buckets`);
  const callsBefore = await criCalls(cluster, node);
  const sums = rows.map((r) => r.pids().reduce((a, p) => a + ticks(p), 0));
  const buckets: number[][] = rows.map(() => []);
  const mems: Mem[][] = rows.map(() => []);
  const counts: number[] = rows.map(() => 0);
  const wStart = Date.now();
  let last = wStart;
  while (Date.now() - wStart < windowS * 1000 - 500) {
    await sleep(BUCKET_S * 1000 - ((Date.now() - wStart) % (BUCKET_S * 1000)));
    const now = Date.now();
    rows.forEach((r, i) => {
      const pids = r.pids();
      const t = pids.reduce((a, p) => a + ticks(p), 0);
      buckets[i]!.push(((t - sums[i]!) / tck / ((now - last) / 1000)) * 100);
      sums[i] = t;
      mems[i]!.push(mem(pids));
      counts[i] = pids.length;
    });
    last = now;
  }
  const windowReal = (Date.now() - wStart) / 1000;
  const callsAfter = await criCalls(cluster, node);
  const stillRunning = await runningCount(cluster, ns);

  const afterSeries = await removeAndFollow();

  // The later cycles: the same pods again, memory only (the CPU and calls are the first cycle's).
  const later: Array<{
    startS: number;
    full: Array<Record<string, Mem>>;
    followed: Array<Record<string, Mem>>;
  }> = [];
  for (let cycle = 2; cycle <= CYCLES; cycle++) {
    const s = await makePods(cycle);
    log(
      `density: all Running after ${s.toFixed(0)} s; settling ${LATER_SETTLE_S} s, then ${LATER_WINDOW_S} s`,
    );
    await sleep(LATER_SETTLE_S * 1000);
    const full: Array<Record<string, Mem>> = [];
    for (let t = BUCKET_S; t <= LATER_WINDOW_S; t += BUCKET_S) {
      await sleep(BUCKET_S * 1000);
      full.push(memOf());
    }
    later.push({ startS: s, full, followed: await removeAndFollow() });
  }

  const calls: Record<string, number> = {};
  for (const [k, v] of Object.entries(callsAfter)) {
    const d = v - (callsBefore[k] ?? 0);
    if (d > 0) calls[k] = Number((d / windowReal).toFixed(3));
  }
  const callsPerSecond = Number(
    Object.values(calls)
      .reduce((a, b) => a + b, 0)
      .toFixed(2),
  );
  const series = (ms: Mem[]) => ({
    rss: ms.map((x) => Number((x.rss / MiB).toFixed(1))),
    anon: ms.map((x) => Number((x.anon / MiB).toFixed(1))),
  });
  const result: Record<string, ProcResult> = {};
  rows.forEach((r, i) => {
    const m = mems[i]!;
    const first = afterOf(afterSeries, r.name);
    result[r.name] = {
      cpuMeanPct: Number(mean(buckets[i]!).toFixed(2)),
      cpuP95Pct: Number(p95(buckets[i]!).toFixed(2)),
      cpuBucketsPct: buckets[i]!.map((b) => Number(b.toFixed(2))),
      processes: counts[i]!,
      idleCold: idleCold[r.name],
      idle: idle[r.name],
      full: meanMem(m),
      afterRemoval: first.at90,
      fullSeriesMiB: series(m),
      afterRemovalSeriesMiB: series(first.ms),
      afterRemovalLateMean: first.lateMean,
      laterCycles: later.map((c) => {
        const full = readingsOf(c.full, r.name);
        const after = afterOf(c.followed, r.name);
        return {
          secondsToAllRunning: Number(c.startS.toFixed(1)),
          full: meanMem(full),
          afterRemoval: after.at90,
          afterRemovalLateMean: after.lateMean,
          fullSeriesMiB: series(full),
          afterRemovalSeriesMiB: series(after.ms),
        };
      }),
    };
  });

  const json = {
    bench: 'kubelet-density',
    runtime,
    date: new Date().toISOString(),
    machine: `${os.cpus().length} vCPU, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.release()}`,
    kubeletFeatureGates: opts.featureGates,
    pods,
    warmUpPods: WARM_PODS,
    cycles: CYCLES,
    containersPerPod: 2,
    image,
    secondsToAllRunning: Number(startS.toFixed(1)),
    settleSeconds: settleS,
    windowSeconds: Number(windowReal.toFixed(1)),
    bucketSeconds: BUCKET_S,
    podsRunningAfterWindow: stillRunning,
    criCallsPerSecond: callsPerSecond,
    criCallsPerSecondByMethod: calls,
    processes: result,
    notes:
      'CPU in % of one core (utime+stime+cutime+cstime); memory in bytes, idleCold = node Ready with no pod ' +
      `ever run, idle = after a warm-up (${WARM_PODS} pods made, polled ${WARM_LOADED_S} s, deleted, ` +
      `${WARM_GONE_S + 30} s later), ` +
      'full = mean over the window, afterRemoval = 90 s after the pods were deleted, afterRemovalLateMean = ' +
      `mean of the readings from 100 s to ${AFTER_REMOVAL_S} s after; the series in MiB, ` +
      `one reading per ${BUCKET_S} s (afterRemovalSeriesMiB: for ${AFTER_REMOVAL_S} s after the deletion); ` +
      `laterCycles: the pods made and removed again (${LATER_SETTLE_S} s settle, full = mean of ` +
      `${LATER_WINDOW_S} s), memory only`,
  };
  const file = path.join(opts.repo, 'bench', 'results', `kubelet-density-${runtime}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');

  const mib = (m: Mem | undefined) => (m ? `${(m.rss / MiB).toFixed(1)}/${(m.anon / MiB).toFixed(1)}` : '-');
  const table = [
    `density under a real kubelet, ${runtime}: ${pods} pods × 2 containers, all Running after ${startS.toFixed(0)} s;` +
      ` ${windowReal.toFixed(0)} s window; kubelet CRI calls ${callsPerSecond}/s`,
    `  ${'process'.padEnd(32)} ${'CPU mean'.padStart(9)} ${'p95'.padStart(7)}   RSS/RssAnon MiB: idle cold, idle, full, after removal`,
    ...rows.map((r) => {
      const x = result[r.name]!;
      return `  ${`${r.name} (${x.processes})`.padEnd(32)} ${`${x.cpuMeanPct.toFixed(2)}%`.padStart(9)} ${`${x.cpuP95Pct.toFixed(2)}%`.padStart(7)}   ${mib(x.idleCold)}, ${mib(x.idle)}, ${mib(x.full)}, ${mib(x.afterRemoval)}`;
    }),
    ...(CYCLES > 1
      ? [
          `  later cycles, RSS/RssAnon MiB: full, after removal (90 s; mean 100-${AFTER_REMOVAL_S} s)`,
          ...rows.map((r) => {
            const x = result[r.name]!;
            const cycles = [
              `1: ${mib(x.full)}, ${mib(x.afterRemoval)}; ${mib(x.afterRemovalLateMean)}`,
              ...x.laterCycles.map(
                (c, k) => `${k + 2}: ${mib(c.full)}, ${mib(c.afterRemoval)}; ${mib(c.afterRemovalLateMean)}`,
              ),
            ];
            return `  ${r.name.padEnd(32)} ${cycles.join(' | ')}`;
          }),
        ]
      : []),
    `  CRI calls/s by method: ${Object.entries(calls)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ].join('\n');
  return { runtime, file, table };
}
