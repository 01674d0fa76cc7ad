#!/usr/bin/env node
// First: it decides what later imports load.
import './lean-require';
import fs from 'fs';
import v8 from 'v8';
import { helpText, parseArgs, UsageError } from './config';
import { startApp } from './app';
import { isReadOnlyMethod, onCallFinished } from './grpc/handler';
import { logger, setLogLevel } from './logger';
import {
  heapSlackAtLeast,
  isReclaimActivity,
  lastResortGc,
  mallocTrim,
  PrivateGrowth,
  QuietReclaim,
  type ReclaimStep,
} from './process/reclaim';
import { pageOutExecutable } from './process/page-out';
import { joinRuntimeCgroup } from './process/runtime-cgroup';
import { VERSION_INFO } from './version-info';
import { PORT_RELAY_FLAG, runPortRelay } from './streaming/pod-dialer';

async function main(): Promise<void> {
  // Not a flag of docker-cri's: the port-forward relay started inside a pod's network namespace.
  if (process.argv[2] === PORT_RELAY_FLAG) {
    runPortRelay(process.argv[3]);
    return;
  }
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`docker-cri: ${err.message}\nRun 'docker-cri --help' for the flags.\n`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText() + '\n');
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(
      `docker-cri ${VERSION_INFO.version} (commit ${VERSION_INFO.commit}, CRI ${VERSION_INFO.criApi})\n`,
    );
    return;
  }
  if (parsed.kind === 'buildinfo') {
    process.stdout.write(
      `Program: docker-cri\nVersion: ${VERSION_INFO.version}\nGitCommit: ${VERSION_INFO.commit}\n` +
        `Node.js version: ${process.version}\n` +
        // The flags it runs under: the executable carries shims/node-options as its execArgv.
        `Node.js flags: ${process.execArgv.join(' ')}\n`,
    );
    return;
  }
  const { config, warnings } = parsed;
  setLogLevel(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  if (config.runtimeCgroups !== '') {
    // Before anything starts, so that every thread and child of ours lives there from the first call.
    const joined = joinRuntimeCgroup(config.runtimeCgroups);
    logger.info('moved into the runtime cgroup', { cgroup: config.runtimeCgroups, dirs: joined });
  }
  const app = await startApp(config);
  const reclaim = startReclaim();
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    reclaim?.stop();
    logger.info('shutting down; running containers are left running', { signal });
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGUSR2', reportResources);
}

/**
 * What V8 must hold beyond its live objects before a steady node collects on its own: an idle
 * process holds about 1 MiB (its young generation), one at 110 pods × 2 under the kubelet's steady
 * calls 8 MiB (bench/sea-memory.bench.ts).
 */
const STEADY_SLACK_BYTES = 4 * 1024 * 1024;

/**
 * Or when the process's private memory has grown this much since the last reclaim: V8's pooled pages
 * and malloc's free chunks, which the heap's slack does not show (see PrivateGrowth).
 */
const STEADY_GROWTH_BYTES = 4 * 1024 * 1024;

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
const DURING_BURST_MS = 5000;

/**
 * Memory back to the system 3 s after the last change of a burst (RunPodSandbox, CreateContainer,
 * RemovePodSandbox ...), at most every 30 s: see process/reclaim.ts. Read-only, exec and streaming
 * calls are no change. Start-up counts as one burst: its garbage, and the pages of the executable
 * only start-up read (process/page-out.ts), go back a few seconds after the server is up. A node
 * with no changes collects once a minute when V8 holds STEADY_SLACK_BYTES beyond its live heap, or
 * when its private memory has grown STEADY_GROWTH_BYTES since the last reclaim.
 */
function startReclaim(): QuietReclaim | undefined {
  const gc = lastResortGc();
  const trim = mallocTrim();
  const pageOut = pageOutExecutable();
  logger.debug('memory given back after bursts of changes', {
    gc: Boolean(gc),
    mallocTrim: Boolean(trim),
    pageOut: Boolean(pageOut),
  });
  // The collection first: the buffers it frees are malloc's, for the trim to give back.
  const collect: ReclaimStep[] = [gc, trim].filter((s): s is ReclaimStep => s !== undefined);
  const steps = [...collect];
  if (pageOut) {
    // Last: after the collection, which itself reads code the page-out would otherwise drop first.
    steps.push(() => logger.debug('executable pages given back', pageOut()));
  }
  if (steps.length === 0) return undefined;
  const growth = new PrivateGrowth();
  const slack = heapSlackAtLeast(STEADY_SLACK_BYTES);
  const grown = growth.atLeast(STEADY_GROWTH_BYTES);
  const reclaim = new QuietReclaim({
    quietMs: 3000,
    minIntervalMs: 30_000,
    steps: [...steps, growth.mark],
    steady: {
      everyMs: 60_000,
      steps: [...collect, growth.mark],
      worthIt: () => slack() || grown(),
    },
    during: { everyMs: DURING_BURST_MS, steps: [...collect, growth.mark] },
  });
  onCallFinished((method) => {
    if (isReclaimActivity(method, isReadOnlyMethod)) reclaim.activity();
  });
  reclaim.activity();
  return reclaim;
}

/**
 * SIGUSR2 logs what the process holds (memory after a collection when node runs with --expose-gc,
 * open files, active handles and timers), so that leaks can be checked on a live node.
 */
function reportResources(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  let fds = -1;
  try {
    fds = fs.readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux
  }
  logger.info('resources', {
    gcRan: Boolean(gc),
    memory: process.memoryUsage(),
    // Where the V8 heap is (old objects, bytecode in trusted space, compiled code), resident bytes.
    heapSpaces: Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .filter((s) => s.physical_space_size > 0)
        .map((s) => [s.space_name, s.physical_space_size]),
    ),
    fds,
    activeResources: resources,
  });
}

main().catch((err: unknown) => {
  logger.error('docker-cri failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
