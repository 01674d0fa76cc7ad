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
  isReclaimActivity,
  lastResortGc,
  mallocTrim,
  nodeReclaimOptions,
  PrivateGrowth,
  QuietReclaim,
} from './process/reclaim';
import { pageOutExecutable } from './process/page-out';
import { boundParserPool, nodeParserPool, PARSER_POOL_MAX } from './process/http-parser-pool';
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
  // Before the first Docker call: what a burst of calls leaves pooled is bounded from the start.
  const poolWas = boundParserPool(nodeParserPool());
  logger.debug('HTTP parser pool bounded', {
    max: poolWas === undefined ? undefined : PARSER_POOL_MAX,
    was: poolWas,
  });
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
 * Memory back to the system 3 s after the last change of a burst (RunPodSandbox, CreateContainer,
 * RemovePodSandbox ...), at most every 30 s: see process/reclaim.ts. Read-only, exec and streaming
 * calls are no change. Start-up counts as one burst: its garbage, and the pages of the executable
 * only start-up read (process/page-out.ts), go back a few seconds after the server is up. A node
 * with no changes collects once a minute when V8 holds enough beyond its live heap, or when its
 * private memory has grown since the last reclaim (nodeReclaimOptions).
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
  const options = nodeReclaimOptions({
    gc,
    trim,
    pageOut: pageOut && (() => logger.debug('executable pages given back', pageOut())),
    growth: new PrivateGrowth(),
  });
  if (!options) return undefined;
  const reclaim = new QuietReclaim(options);
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
