import { execFileSync, spawn, type ChildProcess } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Dockerode from 'dockerode';
import { buildSync } from 'esbuild';
import { CriClient } from '../test/support/cri-client';
import { evictFromPageCache } from '../test/support/page-cache';

export { evictFromPageCache };

/** Shared pieces of the benchmarks: a real shim process, timing statistics, table and JSON output. */

const ROOT = path.resolve(__dirname, '../..');

/** BENCH_SHIM_MAIN runs another build's main.js (e.g. the code before a change) under the same bench. */
export const MAIN = process.env.BENCH_SHIM_MAIN ?? path.resolve(__dirname, '../src/main.js');

/**
 * What the benches measure (BENCH_TARGET): `sea`, the default, is what nodes run, the single
 * executable of the .deb (dist/sea/docker-cri, rebuilt by bench.sh when its inputs changed;
 * BENCH_SEA runs another, e.g. one built on an older Node.js); `dist` is `node dist/src/main.js`
 * (or BENCH_SHIM_MAIN).
 */
export const TARGET = process.env.BENCH_SHIM_MAIN ? 'dist' : (process.env.BENCH_TARGET ?? 'sea');
if (TARGET !== 'sea' && TARGET !== 'dist') throw new Error(`BENCH_TARGET is sea or dist, not ${TARGET}`);
export const SEA = process.env.BENCH_SEA ?? path.join(ROOT, 'dist/sea/docker-cri');

/**
 * The node flags every launcher gives docker-cri (start.sh, install.sh's wrapper, the .deb's unit),
 * so that a bench measures the shim as it runs on a node. BENCH_NODE_OPTIONS replaces them.
 */
export const NODE_FLAGS = (
  process.env.BENCH_NODE_OPTIONS ??
  fs.readFileSync(path.resolve(__dirname, '../../shims/node-options'), 'utf8')
)
  .split(/\s+/)
  .filter(Boolean);
export const RESULTS = path.resolve(__dirname, '../../bench/results');

/** And the environment every launcher gives it (shims/node-env). */
export const NODE_ENV: Record<string, string> = Object.fromEntries(
  fs
    .readFileSync(path.resolve(__dirname, '../../shims/node-env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
);

export interface BenchShim {
  child: ChildProcess;
  client: CriClient;
  dir: string;
  stop(): Promise<void>;
  rssBytes(): number;
}

export interface ShimOptions {
  /** Flags for node itself (--expose-gc, --cpu-prof …), before the script. */
  nodeArgs?: string[];
  /** The shim's working directory (where --cpu-prof and heap snapshots land); default its temp dir. */
  cwd?: string;
  /** --log-level; default warn. The shim's own default is info. */
  logLevel?: string;
  /** Pipe the shim's stderr (its log) to the bench instead of passing it through. */
  pipeStderr?: boolean;
}

/**
 * The command that starts docker-cri (TARGET) with these node flags and docker-cri arguments: the
 * executable as the .deb's unit starts it (shims/node-options built in as its execArgv, a bench's
 * own flags in NODE_OPTIONS), or node with the flags before main.js as install.sh's wrapper does.
 * Either way with the environment of shims/node-env (a variable already set here wins).
 */
export function shimCommand(
  nodeArgs: string[],
  args: string[],
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const flags = [
    ...NODE_FLAGS,
    ...nodeArgs,
    // BENCH_CPU_PROF=<dir>: profile the shim of any bench (see profile-summary.ts).
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
  ];
  const env = { ...NODE_ENV, ...process.env };
  if (TARGET === 'dist') return { command: process.execPath, args: [...flags, MAIN, ...args], env };
  // The executable carries shims/node-options itself (its execArgv); only a bench's own additions
  // (and BENCH_NODE_OPTIONS, which can only add to them here) go in NODE_OPTIONS.
  const extra = process.env.BENCH_NODE_OPTIONS ? flags : flags.slice(NODE_FLAGS.length);
  // Node refuses to start on a flag it does not take in NODE_OPTIONS (V8's tiering, --max-opt):
  // say which, and what reaches it instead.
  const refused = extra.filter((f) => !process.allowedNodeEnvironmentFlags.has(f.split('=')[0]));
  if (refused.length > 0) {
    throw new Error(
      `${refused.join(' ')}: node takes these only on its command line, not in NODE_OPTIONS, so they ` +
        'cannot reach the single executable; run with BENCH_TARGET=dist, or build an executable with them',
    );
  }
  return { command: SEA, args, env: { ...env, ...(extra.length ? { NODE_OPTIONS: extra.join(' ') } : {}) } };
}

/** What ran, for the results: the target, its file and the Node.js version inside it. */
export function shimDescription(): Record<string, string> {
  const { command } = shimCommand([], []);
  const node =
    TARGET === 'dist'
      ? process.version
      : (/Node\.js version: (\S+)/.exec(execFileSync(SEA, ['--buildinfo']).toString())?.[1] ?? 'unknown');
  return { target: TARGET, command: TARGET === 'dist' ? `${command} ${MAIN}` : command, node };
}

/** Starts the built docker-cri binary on a temp socket, as a node would run it. */
export async function startBinaryShim(extraArgs: string[] = [], opts: ShimOptions = {}): Promise<BenchShim> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-bench-'));
  const sock = path.join(dir, 'cri.sock');
  const cmd = shimCommand(opts.nodeArgs ?? [], [
    '--container-runtime-endpoint',
    `unix://${sock}`,
    '--root-directory',
    path.join(dir, 'root'),
    '--log-level',
    opts.logLevel ?? 'warn',
    ...extraArgs,
  ]);
  if (TARGET !== 'dist') evictFromPageCache(SEA);
  const child = spawn(cmd.command, cmd.args, {
    stdio: ['ignore', 'ignore', opts.pipeStderr ? 'pipe' : 'inherit'],
    env: cmd.env,
    cwd: opts.cwd ?? dir,
  });
  const until = Date.now() + 30_000;
  while (!fs.existsSync(sock)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error('docker-cri did not start');
    await sleep(50);
  }
  const client = new CriClient(sock);
  await client.rt('Version', {});
  return {
    child,
    client,
    dir,
    rssBytes: () => rssOf(child.pid as number),
    async stop() {
      client.close();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU time a process has used so far (user + system), in seconds, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux architecture node runs on. */
const CLOCK_TICKS = 100;

export function rssOf(pid: number, field = 'VmRSS'): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.replace(/\D+/g, '')) * 1024 : 0;
}

/**
 * The process's private memory: RSS less the pages of files it maps (node's own executable, about
 * 44 MiB of a node process's RSS, shared with every other node process and given back under
 * pressure without a write).
 */
export function anonOf(pid: number): number {
  return rssOf(pid, 'RssAnon');
}

export function docker(): Dockerode {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return new Dockerode({ socketPath: host.replace(/^unix:\/\//, '') });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function timeMs<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, out];
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (values: number[]): number => percentile(values, 50);

/** Runs `count` jobs with at most `concurrency` at once; returns each job's duration in ms. */
export async function runPool(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<number[]> {
  const durations: number[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const [ms] = await timeMs(() => job(i));
      durations[i] = ms;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return durations;
}

export function uid(): string {
  return crypto.randomUUID();
}

export type Row = Record<string, string | number>;

export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number): string =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]): string => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c] ?? ''))));
}

export function machine(): Record<string, string | number> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
  };
}

/** The engine and the machine's load when a result was taken (the machine may be shared). */
export async function engineDescription(): Promise<Record<string, unknown>> {
  const v = await docker()
    .version()
    .catch(() => undefined);
  const containers = await docker()
    .listContainers({ all: true })
    .then((l) => l.length)
    .catch(() => -1);
  return {
    dockerVersion: v?.Version,
    dockerApiVersion: v?.ApiVersion,
    containersOnEngine: containers,
    loadAverage: os.loadavg(),
  };
}

export function writeResults(name: string, data: unknown, engine?: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  const m = { ...machine(), ...(engine ?? {}) };
  const shim = shimDescription();
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine: m, shim, ...(data as object) }, null, 2),
  );
  return file;
}

/** Removes containers a bench created (by label), whatever state they are in. */
export async function removeByLabel(label: string): Promise<void> {
  const d = docker();
  const list = await d.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    list.map((c) =>
      d
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/**
 * The memory floor a docker-cri process cannot go below, measured on this machine: node alone, node
 * with the libraries docker-cri is built on loaded from node_modules (ssh2 left out as main.ts does),
 * and the same libraries bundled into one script by esbuild as scripts/package-sea.sh bundles the
 * executable, each with the shim's node flags and environment, idle. They run on the pinned node
 * (the one running the bench: bench.sh puts it first on PATH), or BENCH_FLOOR_NODE, e.g. the node a
 * BENCH_SEA executable was built from. What docker-cri holds beyond the bundled floor is its own.
 */
export async function memoryFloors(): Promise<Array<{ what: string; rss: number; anon: number }>> {
  const node = process.env.BENCH_FLOOR_NODE ?? process.execPath;
  const version = execFileSync(node, ['--version']).toString().trim();
  const lean = path.resolve(__dirname, '../src/lean-require.js');
  const libs = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'dockerode', 'winston'];
  const requires = libs.map((l) => `require(${JSON.stringify(l)});`).join(' ');
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-floor-'));
  const bundle = path.join(bundleDir, 'libraries.js');
  buildSync({
    stdin: { contents: `${requires} setInterval(() => {}, 1e6);`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    target: `node${version.slice(1).split('.')[0]}`,
    format: 'cjs',
    logLevel: 'warning',
    absWorkingDir: ROOT,
    // As scripts/package-sea.sh: ssh2 and ws's optional native parts are left out.
    alias: {
      ssh2: './shims/deb/ssh2-stub.js',
      bufferutil: './shims/deb/absent-module.js',
      'utf-8-validate': './shims/deb/absent-module.js',
    },
    outfile: bundle,
  });
  const cases = [
    { what: `node ${version} alone`, args: ['-e', 'setInterval(() => {}, 1e6)'] },
    {
      what: `node + ${libs.join(', ')}`,
      args: ['-e', `require(${JSON.stringify(lean)}); ${requires} setInterval(() => {}, 1e6)`],
    },
    { what: 'node + the same bundled (esbuild, one script)', args: [bundle] },
  ];
  const out: Array<{ what: string; rss: number; anon: number }> = [];
  for (const c of cases) {
    evictFromPageCache(node);
    const child = spawn(node, [...NODE_FLAGS, ...c.args], {
      env: { ...NODE_ENV, ...process.env },
      stdio: 'ignore',
      cwd: ROOT,
    });
    try {
      await sleep(3000);
      const pid = child.pid as number;
      out.push({ what: c.what, rss: rssOf(pid), anon: anonOf(pid) });
    } finally {
      child.kill();
    }
  }
  fs.rmSync(bundleDir, { recursive: true, force: true });
  return out;
}

/** A pod of the node-density benches: a sandbox and two running busybox containers. */
export interface BenchPod {
  id: string;
  containers: string[];
}

/**
 * Makes a pod as the kubelet does (sandbox, then `app` and `sidecar` created and started), labelled
 * `dcri-bench=<bench>`; `logs: false` gives the containers no log path, so no log pump.
 */
export async function runBenchPod(
  client: CriClient,
  logRoot: string,
  bench: string,
  opts: { logs?: boolean } = {},
): Promise<BenchPod> {
  const id = uid();
  const name = `${bench}-${id.slice(0, 8)}`;
  const config = {
    metadata: { name, namespace: 'dcri-bench', uid: id, attempt: 0 },
    hostname: name,
    log_directory: path.join(logRoot, id),
    labels: { 'dcri-bench': bench },
    linux: {},
  };
  fs.mkdirSync(config.log_directory, { recursive: true });
  const { pod_sandbox_id } = await client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
  const containers: string[] = [];
  for (const c of ['app', 'sidecar']) {
    const { container_id } = await client.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id,
      sandbox_config: config,
      config: {
        metadata: { name: c, attempt: 0 },
        image: { image: 'busybox:latest' },
        command: ['sleep', '3600'],
        log_path: opts.logs === false ? '' : `${c}/0.log`,
        labels: { 'dcri-bench': bench },
      },
    });
    await client.rt('StartContainer', { container_id });
    containers.push(container_id);
  }
  return { id: pod_sandbox_id, containers };
}

/** How often the kubelet's container log manager looks at every running container's log. */
export const LOG_MANAGER_PERIOD_S = 10;

/**
 * One pass of the kubelet's container log manager (pkg/kubelet/logs/container_log_manager.go, its
 * containerLogMonitorInterval, 10 s by default): every container listed, then, one at a time (one
 * worker by default), ContainerStatus of each running one for its log path, whose size it stats.
 * These calls go through the kubelet's raw CRI client, so kubelet_runtime_operations_total does not
 * count them; docker-cri's own debug log under the real kubelet does (220 ContainerStatus every 10 s
 * at 110 pods × 2). `call` is the bench's timed unary call.
 */
export async function logManagerPass(
  call: <T>(method: string, req: object) => Promise<T | undefined>,
): Promise<void> {
  const list = await call<{ containers: Array<{ id: string; state: string }> }>('ListContainers', {
    filter: {},
  });
  for (const c of list?.containers ?? []) {
    if (c.state === 'CONTAINER_RUNNING') await call('ContainerStatus', { container_id: c.id });
  }
}
