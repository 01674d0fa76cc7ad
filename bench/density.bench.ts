import fs from 'fs';
import os from 'os';
import path from 'path';
import {
  runBenchPod,
  type BenchPod,
  anonOf,
  cpuSecondsOf,
  docker,
  engineDescription,
  median,
  memoryFloors,
  NODE_FLAGS,
  percentile,
  printTable,
  removeByLabel,
  runPool,
  sleep,
  startBinaryShim,
  timeMs,
  writeResults,
  logManagerPass,
  LOG_MANAGER_PERIOD_S,
  type BenchShim,
  type Row,
} from './support';

/**
 * A full node: DENSITY_PODS pods (default the kubelet's 110) × 2 running busybox containers made
 * through the CRI, then two loads of DENSITY_SECONDS each (default 60): the calls a real kubelet
 * makes of a steady node (measured, see LoadMode), and a busier stand-in with stats.
 * Printed: docker-cri's and dockerd's CPU (% of one core, from /proc/<pid>/stat), RSS, p50/p95 of
 * each call, the same during a window with no calls (after the load and a 100 s pause, once the
 * background layer walks have stopped), RSS per 100 containers while the node fills
 * (heap after a GC, through SIGUSR2), and after every pod is removed. The raw Docker calls a runtime
 * without an index would make are timed in the same run as the floor.
 *
 * DENSITY_CPU_PROF=<dir> runs the shim under `node --cpu-prof` and writes the load window's
 * profile summary (see profile-summary.ts); DENSITY_HEAP_SNAPSHOT=<dir> writes heap snapshots
 * with the node full and after every pod is removed.
 */
const PODS = Number(process.env.DENSITY_PODS ?? 110);
const SECONDS = Number(process.env.DENSITY_SECONDS ?? 60);
const IDLE_SECONDS = Number(process.env.DENSITY_IDLE_SECONDS ?? 30);
const IDLE_PAUSE_SECONDS = Number(process.env.DENSITY_IDLE_PAUSE_SECONDS ?? 100);
const PROFILE_DIR = process.env.DENSITY_CPU_PROF;
const SNAPSHOT_DIR = process.env.DENSITY_HEAP_SNAPSHOT;
const LABEL = 'dcri-bench=density';
const MiB = 2 ** 20;

type Pod = BenchPod;

/** Everything the bench reads of the resources report the shim logs on SIGUSR2. */
interface Resources {
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  fds: number;
  activeResources: Record<string, number>;
}

function dockerdPid(): number | undefined {
  if (process.env.DENSITY_DOCKERD_PID) return Number(process.env.DENSITY_DOCKERD_PID);
  const host = process.env.DOCKER_HOST ?? '';
  if (!host.startsWith('unix://')) return undefined;
  try {
    return Number(fs.readFileSync(path.join(path.dirname(host.slice(7)), 'docker.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Watches the shim's stderr for its SIGUSR2 report. */
function resourcesProbe(shim: BenchShim): () => Promise<Resources> {
  let buf = '';
  shim.child.stderr?.on('data', (d: Buffer) => {
    buf += d.toString();
    if (buf.length > 1_000_000) buf = buf.slice(-100_000);
  });
  return async () => {
    buf = '';
    shim.child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      const line = buf.split('\n').find((l) => l.includes('"message":"resources"'));
      if (line) return JSON.parse(line) as Resources;
    }
    throw new Error('the shim wrote no resources report');
  };
}

/**
 * How long the readings at rest wait: docker-cri gives memory back 3 s after the last change
 * (src/process/reclaim.ts), and then reads some of its executable's pages again; a reading sooner
 * would catch either the burst's garbage or the moment right after the reclaim.
 */
const SETTLE_MS = 15_000;

async function settledRss(shim: BenchShim, ms = 3000): Promise<number> {
  await sleep(ms);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(shim.rssBytes());
    await sleep(200);
  }
  return median(samples);
}

function runPod(shim: BenchShim, logRoot: string): Promise<Pod> {
  // DENSITY_NO_LOGS=1: no log path, so no log pump: isolates what the pumps cost.
  return runBenchPod(shim.client, logRoot, 'density', { logs: !process.env.DENSITY_NO_LOGS });
}

/** A CPU meter over a window: % of one core used by the pid between start and stop. */
function cpuMeter(pid: number | undefined): () => number {
  if (!pid) return () => NaN;
  const t0 = process.hrtime.bigint();
  let c0: number;
  try {
    c0 = cpuSecondsOf(pid);
  } catch {
    return () => NaN;
  }
  return () => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    return ((cpuSecondsOf(pid) - c0) / wall) * 100;
  };
}

/** Monotonic µs, the clock node's CPU profiles use. */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface LoadResult {
  calls: Record<string, number[]>;
  shimCpu: number;
  dockerdCpu: number;
  rss: number[];
  windowUs: [number, number];
  errors: number;
}

/**
 * The two loads:
 *   kubelet  the calls a real kubelet (v1.36.2, default feature gates) made of each runtime at
 *            110 pods × 2 on a steady node, counted from its kubelet_runtime_operations_total in
 *            `npm run e2e -- --density` (bench/results/kubelet-density-*.json): ListPodSandbox and
 *            ListContainers 1.5/s each (the PLEG relist every second, and the pod workers' own),
 *            ContainerStatus 1.22/s round the containers, Status every 5 s, Version every 10 s,
 *            ListImages every 25 s; and every 10 s the stats summary its eviction manager asks
 *            for (pkg/kubelet/stats/cri_stats_provider.go: ImageFsInfo, ListContainers,
 *            ListPodSandbox, ListContainerStats), and every 10 s its container log manager's pass
 *            (ListContainers, then ContainerStatus of every running container: logManagerPass).
 *            Those two go through the kubelet's uninstrumented CRI client and so are missing from
 *            that counter (docker-cri's debug log under the real kubelet showed them);
 *   busy     every second the relist, then PodSandboxStatus + ContainerStatus for a tenth of the
 *            pods whether they changed or not (DENSITY_STATUS_PER_S to change), and every 10 s
 *            ListContainerStats, ListPodSandboxStats and ImageFsInfo: far more than a kubelet asks
 *            of a steady node, a stand-in for a node with churn and a stats scraper.
 */
type LoadMode = 'kubelet' | 'busy';

/** ContainerStatus calls per second in the kubelet load (measured; see above). */
const KUBELET_STATUS_PER_S = 1.22;

/** The kubelet's periodic calls for `seconds`. */
async function kubeletLoad(
  shim: BenchShim,
  pods: Pod[],
  seconds: number,
  mode: LoadMode,
  dpid?: number,
): Promise<LoadResult> {
  const calls: Record<string, number[]> = {};
  let errors = 0;
  const timed = async <T>(method: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      const [ms, value] = await timeMs(fn);
      (calls[method] ??= []).push(ms);
      return value;
    } catch (err) {
      errors++;
      if (errors <= 5) console.error(`${method} failed: ${(err as Error).message}`);
      return undefined;
    }
  };
  const rt = <T = unknown>(m: string, req: object = {}): Promise<T | undefined> =>
    timed(m, () => shim.client.rt<T>(m, req));
  const containers = pods.flatMap((p) => p.containers);
  const rss: number[] = [];
  const shimPid = shim.child.pid as number;
  const windowStart = monoUs();
  const shimCpu = cpuMeter(shimPid);
  const dockerdCpu = cpuMeter(dpid);
  const start = Date.now();
  const perTick = Number(process.env.DENSITY_STATUS_PER_S ?? Math.max(1, Math.ceil(pods.length / 10)));
  let cursor = 0;
  let statusDue = 0;
  for (let tick = 0; tick < seconds; tick++) {
    const tickStart = Date.now();
    // One call at a time, so that each latency is the call's own and not the batch's.
    await rt('ListPodSandbox');
    await rt('ListContainers');
    if (mode === 'kubelet') {
      if (tick % 2 === 1) {
        await rt('ListPodSandbox');
        await rt('ListContainers');
      }
      for (statusDue += KUBELET_STATUS_PER_S; statusDue >= 1 && containers.length > 0; statusDue--)
        await rt('ContainerStatus', { container_id: containers[cursor++ % containers.length] });
      if (tick % 5 === 0) await rt('Status');
      if (tick % 10 === 0) await rt('Version');
      if (tick % 25 === 0) await timed('ListImages', () => shim.client.img('ListImages', {}));
      if (tick % 10 === 0) {
        await timed('ImageFsInfo', () => shim.client.img('ImageFsInfo'));
        await rt('ListContainers');
        await rt('ListPodSandbox');
        await rt('ListContainerStats', { filter: {} });
      }
      if (tick % LOG_MANAGER_PERIOD_S === LOG_MANAGER_PERIOD_S / 2) await logManagerPass(rt);
    } else {
      for (let i = 0; i < perTick && pods.length > 0; i++) {
        const p = pods[cursor++ % pods.length];
        await rt('PodSandboxStatus', { pod_sandbox_id: p.id });
        for (const c of p.containers) await rt('ContainerStatus', { container_id: c });
      }
      if (tick % 5 === 0) await rt('Status');
      if (tick % 10 === 0) {
        await rt('ListContainerStats', { filter: {} });
        await rt('ListPodSandboxStats', { filter: {} });
        await timed('ImageFsInfo', () => shim.client.img('ImageFsInfo'));
      }
    }
    rss.push(shim.rssBytes());
    await sleep(Math.max(0, start + (tick + 1) * 1000 - Date.now(), tickStart + 1000 - Date.now()));
  }
  return {
    calls,
    shimCpu: shimCpu(),
    dockerdCpu: dockerdCpu(),
    rss,
    windowUs: [windowStart, monoUs()],
    errors,
  };
}

/** What a runtime without an index asks Docker for the same answers: the floor for each call. */
async function rawFloor(pods: Pod[]): Promise<Row[]> {
  const d = docker();
  const rows: Row[] = [];
  const series = async (what: string, n: number, fn: () => Promise<unknown>): Promise<void> => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push((await timeMs(fn))[0]);
    rows.push({ call: `raw Docker: ${what}`, n, 'p50 ms': median(ms), 'p95 ms': percentile(ms, 95) });
  };
  const filters = { label: ['io.kubernetes.docker.type'] };
  const c = pods[0]?.containers[0];
  await series('list all k8s containers', 20, () => d.listContainers({ all: true, filters }));
  if (c) await series('inspect one container', 20, () => d.getContainer(c).inspect());
  await series('ping', 20, () => d.ping());
  await series('info', 10, () => d.info());
  if (c)
    await series('one-shot stats, one container', 5, () =>
      d.getContainer(c).stats({ stream: false, 'one-shot': true }),
    );
  const all = pods.flatMap((p) => p.containers);
  await series(`one-shot stats ×${all.length}, parallel`, 2, () =>
    Promise.all(all.map((id) => d.getContainer(id).stats({ stream: false, 'one-shot': true }))),
  );
  return rows;
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const dpid = dockerdPid();
  // DENSITY_NODE_ARGS: extra node flags for the shim (e.g. --max-semi-space-size=1).
  const nodeArgs = ['--expose-gc', ...(process.env.DENSITY_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  let profDir: string | undefined;
  if (PROFILE_DIR) {
    profDir = path.resolve(PROFILE_DIR);
    fs.mkdirSync(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500');
  }
  if (SNAPSHOT_DIR) nodeArgs.push('--heapsnapshot-signal=SIGTTOU');
  const shim = await startBinaryShim([], {
    nodeArgs,
    cwd: SNAPSHOT_DIR ? path.resolve(SNAPSHOT_DIR) : undefined,
    // The shim's default, so that its per-call logging is measured as a node would run it.
    logLevel: process.env.DENSITY_LOG_LEVEL ?? 'info',
    pipeStderr: true,
  });
  const resources = resourcesProbe(shim);
  const logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-density-logs-'));
  const mem: Row[] = [];
  const memRow = async (state: string, rss: number): Promise<void> => {
    const r = await resources();
    mem.push({
      state,
      'RSS MiB': rss / MiB,
      'private (RssAnon) MiB': anonOf(shim.child.pid as number) / MiB,
      'heap used MiB (after GC)': r.memory.heapUsed / MiB,
      'external MiB': r.memory.external / MiB,
      fds: r.fds,
      timers: r.activeResources.Timeout ?? 0,
      handles: Object.values(r.activeResources).reduce((a, b) => a + b, 0),
    });
  };
  let pods: Pod[] = [];
  try {
    for (const f of await memoryFloors()) {
      mem.push({
        state: `floor: ${f.what}`,
        'RSS MiB': f.rss / MiB,
        'private (RssAnon) MiB': f.anon / MiB,
        'heap used MiB (after GC)': '',
        'external MiB': '',
        fds: '',
        timers: '',
        handles: '',
      });
    }
    // Past docker-cri's start-up reclaim (3 s after it is up) and what the process reads again after.
    const idleRss = await settledRss(shim, SETTLE_MS);
    await memRow('idle, no pods', idleRss);
    if (SNAPSHOT_DIR) {
      // The baseline the snapshot after removal is compared with.
      shim.child.kill('SIGTTOU');
      await sleep(3000);
    }

    // Fill the node, 50 pods (100 containers) at a time, with a reading after each step.
    const built = Date.now();
    for (let done = 0; done < PODS;) {
      const step = Math.min(50, PODS - done);
      const batch = await runPool(step, 4, async () => {
        pods.push(await runPod(shim, logRoot));
      });
      void batch;
      done += step;
      await memRow(`${done} pods, ${done * 2} containers`, await settledRss(shim, 2000));
    }
    console.log(`built ${pods.length} pods × 2 containers in ${Math.round((Date.now() - built) / 1000)} s`);
    pods = pods.sort((a, b) => a.id.localeCompare(b.id));
    // Warm: every container's first stats reading (one inspect each) happens here, not in the window.
    await shim.client.rt('ListContainerStats', { filter: {} });
    await shim.client.rt('ListPodSandboxStats', { filter: {} });
    await sleep(5000);
    if (SNAPSHOT_DIR) {
      shim.child.kill('SIGTTOU');
      await sleep(15_000);
    }

    const pleg = await kubeletLoad(shim, pods, SECONDS, 'kubelet', dpid);
    const load = await kubeletLoad(shim, pods, SECONDS, 'busy', dpid);
    const fullRss = median(load.rss);
    await memRow(`${pods.length} pods × 2, under load`, fullRss);

    // No calls at all: after the background layer walks have noticed that nobody asks (90 s).
    await sleep(IDLE_PAUSE_SECONDS * 1000);
    const idleShim = cpuMeter(shim.child.pid);
    const idleDockerd = cpuMeter(dpid);
    const idleStart = monoUs();
    await sleep(IDLE_SECONDS * 1000);
    const noCalls = { shim: idleShim(), dockerd: idleDockerd(), windowUs: [idleStart, monoUs()] };

    const callRows = (window: string, r: LoadResult): Row[] =>
      Object.entries(r.calls).map(([call, ms]) => ({
        call: `docker-cri ${call} (${window})`,
        n: ms.length,
        'p50 ms': median(ms),
        'p95 ms': percentile(ms, 95),
      }));
    const rows: Row[] = [...callRows('steady', pleg), ...callRows('busy', load)];
    rows.push(...(await rawFloor(pods)));

    // Remove everything through the CRI, as the kubelet would, then let the shim settle.
    await runPool(pods.length, 8, async (i) => {
      await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pods[i].id });
      await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pods[i].id });
    });
    pods = [];
    const afterRss = await settledRss(shim, SETTLE_MS);
    if (SNAPSHOT_DIR) {
      shim.child.kill('SIGTTOU');
      await sleep(15_000);
    }
    await memRow('after every pod was removed', afterRss);

    const cpuRows: Row[] = [
      {
        window: `steady kubelet (the call mix a v1.36 kubelet made: 4.6 calls/s counted, its stats summary and its log manager's pass every 10 s), ${SECONDS} s`,
        'docker-cri CPU %': pleg.shimCpu,
        'dockerd CPU %': pleg.dockerdCpu,
      },
      {
        window: `busy kubelet (status of a tenth of the pods every second, stats every 10 s), ${SECONDS} s`,
        'docker-cri CPU %': load.shimCpu,
        'dockerd CPU %': load.dockerdCpu,
      },
      {
        window: `no calls, ${IDLE_SECONDS} s`,
        'docker-cri CPU %': noCalls.shim,
        'dockerd CPU %': noCalls.dockerd,
      },
    ];
    printTable(`Density: ${PODS} pods × 2 containers (CPU in % of one core; machine shared)`, cpuRows);
    printTable('Calls under the kubelet load, and the raw Docker floor', rows);
    printTable('docker-cri memory', mem);
    const errors = pleg.errors + load.errors;
    if (errors) console.log(`${errors} calls failed during the load`);
    const file = writeResults(
      PODS === 110 ? 'density' : `density-${PODS}`,
      {
        pods: PODS,
        seconds: SECONDS,
        idleSeconds: IDLE_SECONDS,
        note: process.env.DENSITY_NOTE ?? 'machine shared with other work; dockerd serves other clients too',
        nodeFlags: NODE_FLAGS,
        cpu: cpuRows,
        calls: rows,
        memory: mem,
        errors,
        windowsUs: { steady: pleg.windowUs, load: load.windowUs, noCalls: noCalls.windowUs },
      },
      await engineDescription(),
    );
    console.log(`wrote ${file}`);
    if (profDir) {
      fs.writeFileSync(
        path.join(profDir, 'windows.json'),
        JSON.stringify({ steady: pleg.windowUs, load: load.windowUs, noCalls: noCalls.windowUs }),
      );
    }
  } finally {
    if (pods.length > 0) {
      await runPool(pods.length, 8, async (i) => {
        await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pods[i].id }).catch(() => undefined);
        await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pods[i].id }).catch(() => undefined);
      });
    }
    await shim.stop();
    await removeByLabel(LABEL);
    fs.rmSync(logRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
