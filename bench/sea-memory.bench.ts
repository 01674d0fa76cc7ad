import { execFileSync, spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../test/support/cri-client';
import {
  runBenchPod,
  type BenchPod,
  cpuSecondsOf,
  evictFromPageCache,
  logManagerPass,
  LOG_MANAGER_PERIOD_S,
  median,
  NODE_ENV,
  NODE_FLAGS,
  printTable,
  removeByLabel,
  rssOf,
  runPool,
  sleep,
  writeResults,
  type Row,
} from './support';

/**
 * The shipped single executable's memory at the points issue 26 names, each after a forced
 * collection (the executable's SIGUSR2 report runs gc() under --expose-gc), with its private part
 * (RssAnon) and its file-backed part (RssFile) beside RSS:
 *   floor: node alone, and node running the five required libraries bundled with esbuild
 *   idle (cold), after a warm-up (a few pods made, the kubelet's calls, pods removed), 110 pods ×
 *   2 containers under the kubelet's steady calls, the highest RSS while the pods are removed (as the
 *   kubelet removes: StopContainer, StopPodSandbox, RemoveContainer, RemovePodSandbox), after removal.
 * And, since one reading at 110 pods falls at one moment of the steady reclaim's minute, the lowest,
 * median and highest of a sample a second over the steady window (no forced collection).
 * SEA_EXEC: the executable (default dist/sea/docker-cri); SEA_NODE: the node it was built from
 * (for the floors; default the node running this bench); SEA_PODS (110), SEA_SECONDS (60).
 * SEA_LOG_LEVEL: the executable's --log-level (SEA_SHOW_LOG=1 copies its log to stderr).
 * SEA_HEAP_SNAPSHOT=<dir>: heap snapshots (SIGTTOU) at post-warm-up idle, at 110 pods, mid-removal,
 * and after removal. SEA_SMAPS=<dir>: /proc/<pid>/smaps at each reading (<row number>.smaps).
 */
const ROOT = path.resolve(__dirname, '../..');
const EXEC = path.resolve(ROOT, process.env.SEA_EXEC ?? 'dist/sea/docker-cri');
const NODE = process.env.SEA_NODE ?? process.execPath;
const PODS = Number(process.env.SEA_PODS ?? 110);
const SECONDS = Number(process.env.SEA_SECONDS ?? 60);
const WARM_PODS = Number(process.env.SEA_WARM_PODS ?? 4);
const SNAPSHOT_DIR = process.env.SEA_HEAP_SNAPSHOT ? path.resolve(process.env.SEA_HEAP_SNAPSHOT) : undefined;
/** SEA_SMAPS=<dir>: the process's /proc/<pid>/smaps at each reading, as <row>.smaps. */
const SMAPS_DIR = process.env.SEA_SMAPS ? path.resolve(process.env.SEA_SMAPS) : undefined;
const LABEL = 'dcri-bench=sea-memory';
/** How long a reading at rest waits after the last change. */
const SETTLE_MS = 15_000;
const MiB = 2 ** 20;

/**
 * NODE_OPTIONS for the readings (gc(), heap snapshots): added to the node flags the executable
 * carries itself (shims/node-options as its execArgv), which the floors get on the command line.
 */
function nodeOptions(): string {
  const extra = ['--expose-gc', ...(SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGTTOU'] : [])];
  return [...extra, process.env.SEA_NODE_OPTIONS ?? ''].join(' ').trim();
}

interface Reading {
  rss: number;
  anon: number;
  file: number;
  /** Resident bytes of the [heap] mapping: glibc malloc's main arena (the brk heap). */
  brk: number;
  /** /proc/<pid>/smaps at the reading (with SEA_SMAPS). */
  smaps?: string;
  /** From the executable's SIGUSR2 report (process.memoryUsage() after gc()), when it gave one. */
  heap?: { heapTotal: number; heapUsed: number; external: number; arrayBuffers?: number };
  /** And the resident bytes of each V8 heap space (old, code, trusted: bytecode, large objects ...). */
  spaces?: Record<string, number>;
}

/** The Rss of the process's [heap] mapping (none: 0). */
function brkOf(pid: number): number {
  const smaps = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.search(/ \[heap\]\n/);
  if (at < 0) return 0;
  const rss = /\nRss:\s+(\d+) kB/.exec(smaps.slice(at));
  return rss ? Number(rss[1]) * 1024 : 0;
}

function readingOf(pid: number): Reading {
  return { rss: rssOf(pid), anon: rssOf(pid, 'RssAnon'), file: rssOf(pid, 'RssFile'), brk: brkOf(pid) };
}

/** The steady window's samples, a second apart, in MiB (the shape between reclaims). */
function windowSeries(window: Reading[]): { rss: number[]; anon: number[]; file: number[]; brk: number[] } {
  const mib = (n: number): number => Math.round((n / MiB) * 10) / 10;
  return {
    rss: window.map((r) => mib(r.rss)),
    anon: window.map((r) => mib(r.anon)),
    file: window.map((r) => mib(r.file)),
    brk: window.map((r) => mib(r.brk)),
  };
}

/** The last resources report the executable logged on stderr. */
let lastReport: Reading['heap'];
let lastSpaces: Reading['spaces'];
function watchReports(child: ChildProcess): void {
  let buf = '';
  child.stderr?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (process.env.SEA_SHOW_LOG) process.stderr.write(`${l}\n`);
      if (!l.includes('"message":"resources"')) continue;
      const report = JSON.parse(l) as { memory: Reading['heap']; heapSpaces?: Reading['spaces'] };
      lastReport = report.memory;
      lastSpaces = report.heapSpaces;
    }
  });
}

/** Median of five readings over a second, after asking the process to collect garbage. */
async function settled(child: ChildProcess, waitMs: number): Promise<Reading> {
  await sleep(waitMs);
  lastReport = undefined;
  lastSpaces = undefined;
  child.kill('SIGUSR2');
  await sleep(1500);
  const rs: Reading[] = [];
  for (let i = 0; i < 5; i++) {
    rs.push(readingOf(child.pid as number));
    await sleep(200);
  }
  return {
    rss: median(rs.map((r) => r.rss)),
    anon: median(rs.map((r) => r.anon)),
    file: median(rs.map((r) => r.file)),
    brk: median(rs.map((r) => r.brk)),
    smaps: SMAPS_DIR ? fs.readFileSync(`/proc/${child.pid as number}/smaps`, 'utf8') : undefined,
    heap: lastReport,
    spaces: lastSpaces,
  };
}

/** A floor process collects garbage on SIGUSR2, as the executable does before its report. */
const GC_ON_SIGNAL = "process.on('SIGUSR2', () => globalThis.gc && globalThis.gc());";

/** The five required libraries bundled as the executable bundles them, for the floor. */
function floorBundle(dir: string): string {
  const entry = path.join(dir, 'floor.js');
  const libs = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'dockerode', 'winston'];
  fs.writeFileSync(
    entry,
    libs.map((l) => `require(${JSON.stringify(l)});`).join('\n') +
      `\n${GC_ON_SIGNAL}\nsetInterval(() => {}, 1e6);\n`,
  );
  const out = path.join(dir, 'floor.bundle.js');
  execFileSync(
    path.join(ROOT, 'node_modules/.bin/esbuild'),
    [
      entry,
      '--bundle',
      '--platform=node',
      '--format=cjs',
      '--log-level=error',
      '--alias:ssh2=./shims/deb/ssh2-stub.js',
      '--alias:bufferutil=./shims/deb/absent-module.js',
      '--alias:utf-8-validate=./shims/deb/absent-module.js',
      `--outfile=${out}`,
    ],
    { cwd: ROOT, env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') } },
  );
  return out;
}

async function floor(args: string[]): Promise<Reading> {
  evictFromPageCache(NODE);
  const child = spawn(NODE, [...NODE_FLAGS, ...args], {
    env: { ...NODE_ENV, ...process.env, NODE_OPTIONS: nodeOptions() },
    stdio: 'ignore',
  });
  try {
    return await settled(child, 4000);
  } finally {
    child.kill();
  }
}

type Pod = BenchPod;

async function runPod(client: CriClient, logRoot: string): Promise<Pod> {
  const { id: pod_sandbox_id, containers } = await runBenchPod(client, logRoot, 'sea-memory');
  // The kubelet reads what it made right after.
  await client.rt('PodSandboxStatus', { pod_sandbox_id });
  for (const container_id of containers) await client.rt('ContainerStatus', { container_id });
  return { id: pod_sandbox_id, containers };
}

/** As the kubelet removes a pod: its containers stopped, the sandbox stopped, then all removed. */
async function removePod(client: CriClient, p: Pod): Promise<void> {
  for (const c of p.containers) await client.rt('StopContainer', { container_id: c, timeout: 0 });
  await client.rt('StopPodSandbox', { pod_sandbox_id: p.id });
  for (const c of p.containers) await client.rt('RemoveContainer', { container_id: c });
  await client.rt('RemovePodSandbox', { pod_sandbox_id: p.id });
}

/**
 * The kubelet's steady calls (relist every second, Status every 5 s, stats and the log manager's
 * pass every 10 s); CPU % of a core.
 */
async function steadyLoad(client: CriClient, pid: number, seconds: number): Promise<number> {
  const t0 = Date.now();
  const c0 = cpuSecondsOf(pid);
  for (let tick = 0; tick < seconds; tick++) {
    await client.rt('ListPodSandbox', {});
    await client.rt('ListContainers', {});
    if (tick % 5 === 0) await client.rt('Status', {});
    if (tick % 10 === 0) {
      await client.rt('ListContainerStats', { filter: {} });
      await client.rt('ListPodSandboxStats', { filter: {} });
      await client.img('ImageFsInfo', {});
    }
    if (tick % LOG_MANAGER_PERIOD_S === LOG_MANAGER_PERIOD_S / 2)
      await logManagerPass(<T>(m: string, req: object) => client.rt<T>(m, req));
    await sleep(Math.max(0, t0 + (tick + 1) * 1000 - Date.now()));
  }
  return ((cpuSecondsOf(pid) - c0) / ((Date.now() - t0) / 1000)) * 100;
}

async function main(): Promise<void> {
  if (!fs.existsSync(EXEC)) {
    console.log(`sea-memory: no executable at ${EXEC} (bash scripts/package-sea.sh makes it); skipped`);
    return;
  }
  await removeByLabel(LABEL);
  if (SMAPS_DIR) fs.mkdirSync(SMAPS_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-sea-memory-'));
  const rows: Row[] = [];
  const row = (state: string, r: Reading, note = ''): void => {
    if (SMAPS_DIR && r.smaps) fs.writeFileSync(path.join(SMAPS_DIR, `${rows.length}.smaps`), r.smaps);
    rows.push({
      state,
      'RSS MiB': r.rss / MiB,
      'RssAnon MiB': r.anon / MiB,
      'RssFile MiB': r.file / MiB,
      'malloc [heap] MiB': r.brk / MiB,
      'V8 heap total MiB': r.heap ? r.heap.heapTotal / MiB : '',
      'heap used MiB': r.heap ? r.heap.heapUsed / MiB : '',
      'external MiB': r.heap ? r.heap.external / MiB : '',
      'old/code/trusted/large MiB': r.spaces
        ? ['old_space', 'code_space', 'trusted_space', 'large_object_space']
            .map((k) => ((r.spaces?.[k] ?? 0) / MiB).toFixed(1))
            .join('/')
        : '',
      note,
    });
  };
  try {
    row(`floor: node alone (${NODE})`, await floor(['-e', `${GC_ON_SIGNAL} setInterval(() => {}, 1e6)`]));
    row('floor: node + the 5 libraries bundled (esbuild)', await floor([floorBundle(work)]));
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }

  const sock = path.join(work, 'cri.sock');
  const logRoot = path.join(work, 'logs');
  if (SNAPSHOT_DIR) fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
  evictFromPageCache(EXEC);
  const child = spawn(
    EXEC,
    [
      '--container-runtime-endpoint',
      `unix://${sock}`,
      '--root-directory',
      path.join(work, 'root'),
      // SEA_LOG_LEVEL=debug (with SEA_SHOW_LOG) shows each reclaim and what it took; its per-call
      // lines cost memory and CPU of their own, so such a run's figures are not the shipped ones.
      ...(process.env.SEA_LOG_LEVEL ? ['--log-level', process.env.SEA_LOG_LEVEL] : []),
    ],
    {
      env: { ...NODE_ENV, ...process.env, NODE_OPTIONS: nodeOptions() },
      // SEA_STDOUT=<file>: the executable's stdout (V8's --trace-gc lines, in an executable built with it).
      stdio: ['ignore', process.env.SEA_STDOUT ? fs.openSync(process.env.SEA_STDOUT, 'w') : 'ignore', 'pipe'],
      cwd: SNAPSHOT_DIR ?? work,
    },
  );
  watchReports(child);
  const pid = child.pid as number;
  const snapshot = async (): Promise<void> => {
    if (!SNAPSHOT_DIR) return;
    child.kill('SIGTTOU');
    await sleep(15_000);
  };
  let pods: Pod[] = [];
  let client: CriClient | undefined;
  try {
    const until = Date.now() + 30_000;
    while (!fs.existsSync(sock)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error('docker-cri did not start');
      await sleep(50);
    }
    client = new CriClient(sock);
    await client.rt('Version', {});
    row(`idle, cold (${SETTLE_MS / 1000} s after start)`, await settled(child, SETTLE_MS));

    // Warm-up: every call the full run makes, on a few pods, then those removed.
    const warm: Pod[] = [];
    await runPool(WARM_PODS, 2, async () => {
      warm.push(await runPod(client as CriClient, logRoot));
    });
    await steadyLoad(client, pid, 12);
    await runPool(warm.length, 2, (i) => removePod(client as CriClient, warm[i]));
    // docker-cri gives memory back 3 s after the last change (src/process/reclaim.ts) and then reads
    // some of its executable's pages again: the readings at rest wait past both.
    const idle = await settled(child, SETTLE_MS);
    row(`idle after warm-up (${WARM_PODS} pods made, loaded, removed)`, idle);
    await snapshot();
    if (PODS === 0) {
      printTable(`shipped executable ${EXEC} (NODE_OPTIONS="${nodeOptions()}")`, rows);
      console.log(
        `idle - libraries floor: ${(idle.rss / MiB - (rows[1]['RSS MiB'] as number)).toFixed(2)} MiB`,
      );
      return;
    }

    await runPool(PODS, 4, async () => {
      pods.push(await runPod(client as CriClient, logRoot));
    });
    await client.rt('ListContainerStats', { filter: {} });
    await client.rt('ListPodSandboxStats', { filter: {} });
    // The reading below comes after a forced collection at one moment of the reclaim cycle (a
    // minute long on a steady node): where in that cycle it falls moves it by up to 10 MiB. So the
    // whole window is sampled as well, once a second, as the node is (no forced collection).
    const window: Reading[] = [];
    const windowSampler = setInterval(() => window.push(readingOf(pid)), 1000);
    const cpu = await steadyLoad(client, pid, SECONDS);
    clearInterval(windowSampler);
    const full = await settled(child, 1000);
    row(`${PODS} pods × 2, steady kubelet calls`, full, `CPU ${cpu.toFixed(2)}% of a core over ${SECONDS} s`);
    const byRss = [...window].sort((a, b) => a.rss - b.rss);
    const windowNote = `${window.length} samples, 1 s apart, no forced GC`;
    row(`${PODS} pods × 2 over the steady window: lowest`, byRss[0], windowNote);
    const mid = byRss[Math.floor(byRss.length / 2)];
    row(`${PODS} pods × 2 over the steady window: median`, mid, windowNote);
    row(`${PODS} pods × 2 over the steady window: highest`, byRss[byRss.length - 1], windowNote);
    await snapshot();

    // The highest RSS while the pods go, sampled every 100 ms.
    let peak: Reading = readingOf(pid);
    const sampler = setInterval(() => {
      const r = readingOf(pid);
      if (r.rss > peak.rss) peak = r;
    }, 100);
    const going = pods;
    pods = [];
    let removed = 0;
    let snapTaken = false;
    await runPool(going.length, 8, async (i) => {
      await removePod(client as CriClient, going[i]);
      if (++removed >= going.length / 2 && SNAPSHOT_DIR && !snapTaken) {
        snapTaken = true;
        child.kill('SIGTTOU');
      }
    });
    clearInterval(sampler);
    row(`highest while removing ${PODS} pods (no forced GC)`, peak);
    const after = await settled(child, SETTLE_MS);
    row('after every pod was removed', after);
    await snapshot();
    // SEA_HOLD=<s>: time to look at the process from outside (gdb, smaps) before it is stopped.
    const hold = Number(process.env.SEA_HOLD ?? 0);
    if (hold > 0) {
      console.log(`holding pid ${pid} for ${hold} s`);
      await sleep(hold * 1000);
      row(`after holding ${hold} s`, await settled(child, 0));
    }

    printTable(`shipped executable ${EXEC} (NODE_OPTIONS="${nodeOptions()}")`, rows);
    const d = (a: Reading, b: Reading): string => `${((a.rss - b.rss) / MiB).toFixed(2)} MiB`;
    const floorLibs = rows[1]['RSS MiB'] as number;
    console.log(
      `idle - libraries floor: ${(idle.rss / MiB - floorLibs).toFixed(2)} MiB (target ≤ 4); ` +
        `110 pods - idle: ${d(full, idle)} (≤ 5; over the window: median ${d(mid, idle)}, ` +
        `${d(byRss[0], idle)} to ${d(byRss[byRss.length - 1], idle)}); after removal - idle: ${d(after, idle)} (≤ 2); ` +
        `peak while removing - 110 pods: ${d(peak, full)} (≤ 0); steady CPU ${cpu.toFixed(2)}% (≤ 2)`,
    );
    console.log(
      `wrote ${writeResults(process.env.SEA_RESULT ?? 'sea-memory', { exec: EXEC, node: NODE, nodeOptions: nodeOptions(), pods: PODS, seconds: SECONDS, rows, window: windowSeries(window) })}`,
    );
  } finally {
    if (client && pods.length > 0) {
      await runPool(pods.length, 8, (i) => removePod(client as CriClient, pods[i]).catch(() => undefined));
    }
    client?.close();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await removeByLabel(LABEL);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
