import fs from 'fs';
import path from 'path';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { startFaultProxy, type FaultProxy, type ProxiedEvent } from '../test/support/fault-proxy';
import {
  compareWithDocker,
  criLogLines,
  demuxDockerLog,
  logCaughtUp,
  logComplete,
  numberedLog,
  type DockerTruth,
  type Mismatch,
  type NumberedLog,
} from './soak-check';
import {
  docker,
  engineDescription,
  percentile,
  printTable,
  removeByLabel,
  sleep,
  startBinaryShim,
  uid,
  writeResults,
  type BenchShim,
} from './support';

/**
 * Chaos soak (npm run soak -- --faults): SOAK_FAULT_MINUTES (default 30) of pod churn through a
 * docker-cri process whose engine is a fault proxy in front of the real dockerd. Every few seconds
 * the proxy drops a container's events (or every event for a moment), fails the next inspect or
 * list with 500, holds requests for seconds, resets the events or log streams, answers 409 to a
 * remove, 429 to a pull, or refuses every connection for a moment. Then, with the faults off:
 * docker-cri's lists and statuses must equal Docker's (asked directly) for every container within
 * SOAK_CONVERGE_SECONDS, every CRI log file must hold every number its container wrote once and in
 * order, every container Docker keeps (a remove answered 409) must be in the lists and go at the
 * kubelet's GC, and the process must hold no more file descriptors, timers or listeners than it
 * did at the start.
 */
const MINUTES = Number(process.env.SOAK_FAULT_MINUTES ?? 30);
const WORKERS = Number(process.env.SOAK_FAULT_PODS ?? 4);
const KEEPERS = 2;
const CONVERGE_S = Number(process.env.SOAK_CONVERGE_SECONDS ?? 180);
/** docker-cri's --docker-call-timeout: short, so that a held request runs past it now and then. */
const CALL_TIMEOUT = process.env.SOAK_CALL_TIMEOUT ?? '10s';
/** docker-cri's --log-level; `debug` (with SOAK_LOG=<file>) traces every pump's sources and ends. */
const SHIM_LOG_LEVEL = process.env.SOAK_LOG_LEVEL ?? 'info';
const LABEL_KEY = 'dcri-soak-faults';
const LABEL = `${LABEL_KEY}=yes`;
const IMAGE = 'busybox:latest';
const BURST_LINES = 2000;
/** How long a lifecycle waits for docker-cri to report an exit Docker has had. */
const EXIT_WAIT_MS = 60_000;
const REGISTRY = process.env.DCRI_TEST_REGISTRY;

interface Report {
  memory: { rss: number; heapUsed: number };
  fds: number;
  activeResources: Record<string, number>;
}

type Kind = 'burst' | 'slow' | 'stubborn';

/** A writer of numbered lines: `burst` prints BURST_LINES and exits 3; the others print until stopped. */
function writer(kind: Kind): string[] {
  const loop = (pause: string): string => `i=1; while true; do echo $i; i=$((i+1)); ${pause}; done`;
  switch (kind) {
    case 'burst':
      return ['sh', '-c', `i=1; while [ $i -le ${BURST_LINES} ]; do echo $i; i=$((i+1)); done; exit 3`];
    case 'slow':
      // pid 1 has no default SIGTERM action: the trap makes the stop quick.
      return ['sh', '-c', `trap 'exit 0' TERM; ${loop('sleep 0.05')}`];
    case 'stubborn':
      // Ignores SIGTERM: a stop lasts its whole grace period, longer than the call timeout.
      return ['sh', '-c', `trap '' TERM; ${loop('sleep 0.1')}`];
  }
}

/** Tallies of what happened, for the results file. */
class Tally {
  readonly counts: Record<string, number> = {};
  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
}

interface Pod {
  id: string;
  uid: string;
  config: Record<string, unknown> & { log_directory: string };
  containers: Array<{ id: string; kind: Kind; logFile: string }>;
}

interface Convergence {
  /** Seconds from the faults' end until docker-cri agreed with Docker; null: not within the limit. */
  afterSeconds: number | null;
  first: Mismatch[];
  last: Mismatch[];
}

interface LogProblem {
  container: string;
  kind: Kind;
  when: string;
  expected: number;
  log: NumberedLog;
}

const timers = (r: Report): number => r.activeResources.Timeout ?? 0;

/** More file descriptors, timers or handles of any kind (listeners, sockets) than at the start. */
function grew(start: Report, end: Report): boolean {
  return (
    end.fds > start.fds ||
    Object.entries(end.activeResources).some(([k, v]) => v > (start.activeResources[k] ?? 0))
  );
}

/** SOAK_KEEP_LOGS=<dir>: a copy of every log file that failed its check, for a post-mortem. */
function keepLog(file: string, id: string, suffix = ''): void {
  const dir = process.env.SOAK_KEEP_LOGS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.copyFileSync(file, path.join(dir, `${id.slice(0, 12)}${suffix}.log`));
  } catch {
    // no file to keep: the check says so already
  }
}

const errMsg = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const grpcCode = (err: unknown): string => {
  const code = (err as { code?: number }).code;
  return code === undefined ? 'local' : String(code);
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

async function main(): Promise<void> {
  const engineHost = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
  const d = docker();
  await removeByLabel(LABEL);
  const proxyDir = fs.mkdtempSync('/tmp/dcri-soak-faults-');
  const proxy: FaultProxy = await startFaultProxy(engineHost, path.join(proxyDir, 'docker.sock'));
  let shim: BenchShim | undefined;
  let shimExited: string | undefined;
  const calls = new Tally();
  const errors = new Tally();
  const faults = new Tally();
  const events = new Tally();
  const shimLog = new Tally();
  const problems: string[] = [];
  const findings = new Tally();
  const abandonReasons = new Tally();
  const logProblems: LogProblem[] = [];
  const leaks: Array<{ pod: string; containers: string[] }> = [];
  const exitLagMs: number[] = [];
  const slowExits: string[] = [];
  const mine = new Set<string>(); // every sandbox and container id the soak made
  let logsChecked = 0;
  let lifecycles = 0;
  let abandoned = 0;
  const live = new Map<string, Kind>(); // container id → kind, while its pod exists
  const undoDrops: Array<() => void> = [];
  const started = Date.now();
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      proxy.clearFaults();
      proxy.refuse(false);
      for (const undo of undoDrops) undo();
      await shim?.stop();
      await proxy.close();
      await removeByLabel(LABEL);
      fs.rmSync(proxyDir, { recursive: true, force: true });
    })());
  // Stopped early (Ctrl-C, timeout): the shim, the proxy and every soak container go all the same.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    shim = await startBinaryShim(
      ['--docker-endpoint', proxy.endpoint, '--docker-call-timeout', CALL_TIMEOUT],
      {
        nodeArgs: ['--expose-gc'],
        logLevel: SHIM_LOG_LEVEL,
        pipeStderr: true,
      },
    );
    const { client, child, dir } = shim;
    child.once('exit', (code, signal) => {
      shimExited = `docker-cri exited (code ${code}, signal ${signal})`;
    });
    const logCopy = process.env.SOAK_LOG ? fs.createWriteStream(process.env.SOAK_LOG) : undefined;
    let stderrTail = '';
    let reportWaiter: ((r: Report) => void) | undefined;
    child.stderr!.on('data', (chunk: Buffer) => {
      logCopy?.write(chunk);
      const text = stderrTail + chunk.toString('utf8');
      const lines = text.split('\n');
      stderrTail = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('MaxListenersExceeded')) shimLog.add('MaxListenersExceededWarning');
        let rec: { level?: string; message?: string };
        try {
          rec = JSON.parse(line) as { level?: string; message?: string };
        } catch {
          if (line.trim()) shimLog.add(`raw: ${line.slice(0, 80)}`);
          continue;
        }
        if (rec.message === 'resources' && reportWaiter) reportWaiter(rec as unknown as Report);
        if (rec.level === 'warn' || rec.level === 'error') shimLog.add(`${rec.level}: ${rec.message}`);
      }
    });
    const report = async (): Promise<Report> => {
      const got = new Promise<Report>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no resources report')), 10_000);
        reportWaiter = (r) => {
          clearTimeout(t);
          reportWaiter = undefined;
          resolve(r);
        };
      });
      child.kill('SIGUSR2');
      return got;
    };

    /** One CRI call as the kubelet makes it: retried on failure (its sync loop), every failure counted. */
    const cri = async <T = Record<string, unknown>>(
      method: string,
      req: object,
      opts: { tries?: number; timeoutMs?: number; okCodes?: number[] } = {},
    ): Promise<T> => {
      const tries = opts.tries ?? 8;
      for (let attempt = 1; ; attempt++) {
        calls.add(method);
        try {
          return await client.rt<T>(method, req, opts.timeoutMs ?? 30_000);
        } catch (err) {
          const code = grpcCode(err);
          if (opts.okCodes?.includes(Number(code))) return {} as T;
          errors.add(
            `${method} code ${code}: ${errMsg(err)
              .replace(/[0-9a-f]{12,64}/g, '<id>')
              .slice(0, 140)}`,
          );
          if (attempt >= tries || shimExited) throw err;
          await sleep(Math.min(500 * attempt, 4000));
        }
      }
    };

    const statusOf = async (id: string): Promise<Record<string, unknown> | undefined> => {
      try {
        const r = await cri<{ status: Record<string, unknown> }>(
          'ContainerStatus',
          { container_id: id },
          { tries: 1 },
        );
        return r.status;
      } catch {
        return undefined;
      }
    };

    /** The lines the container wrote, from Docker itself. */
    const engineLines = async (id: string): Promise<number> => {
      const buf = (await d
        .getContainer(id)
        .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return numberedLog(demuxDockerLog(buf)).last;
    };

    /**
     * The CRI log file against Docker's own log: strict when docker-cri has just reported EXITED
     * (complete by then, the log-at-exit promise); a mismatch is re-read after 10 s to tell late lines
     * from lost or doubled ones.
     */
    const checkLog = async (c: Pod['containers'][number], when: string): Promise<void> => {
      logsChecked++;
      const read = (): NumberedLog => {
        let text = '';
        try {
          text = fs.readFileSync(c.logFile, 'utf8');
        } catch {
          // no file: every line is missing
        }
        const { lines, garbage } = criLogLines(text);
        return numberedLog(lines, garbage);
      };
      const expected = await engineLines(c.id);
      const first = read();
      if (logComplete(first, expected)) return;
      await sleep(10_000);
      const later = read();
      const late = logComplete(later, expected);
      logProblems.push({
        container: c.id,
        kind: c.kind,
        when: late ? `${when} (complete 10 s later)` : when,
        expected,
        log: first,
      });
      if (!late) keepLog(c.logFile, c.id);
      if (!late)
        logProblems.push({
          container: c.id,
          kind: c.kind,
          when: `${when}, 10 s later`,
          expected,
          log: later,
        });
    };

    /** Polls ContainerStatus until EXITED; the lag is from Docker's FinishedAt. */
    const awaitExit = async (id: string): Promise<boolean> => {
      const until = Date.now() + EXIT_WAIT_MS;
      let dockerFinished: number | undefined;
      while (Date.now() < until) {
        const st = await statusOf(id);
        if (st?.state === 'CONTAINER_EXITED') {
          if (dockerFinished) {
            const lag = Math.max(0, Date.now() - dockerFinished);
            exitLagMs.push(lag);
            if (lag > 5000)
              slowExits.push(`${id.slice(0, 12)}: EXITED reported ${lag} ms after Docker's FinishedAt`);
          }
          return true;
        }
        if (dockerFinished === undefined) {
          const info = await d.getContainer(id).inspect();
          if (!info.State.Running && info.State.Status === 'exited')
            dockerFinished = Date.parse(info.State.FinishedAt);
        }
        await sleep(250);
      }
      problems.push(
        `${id.slice(0, 12)}: docker-cri did not report EXITED within ${EXIT_WAIT_MS / 1000} s of asking`,
      );
      return false;
    };

    /** The sandboxes docker-cri lists for one pod (by its soak label). */
    const podSandboxes = async (podLabel: string): Promise<Array<{ id: string; state: string }>> => {
      const r = await cri<{ items: Array<{ id: string; state: string }> }>('ListPodSandbox', {
        filter: { label_selector: { 'dcri-soak-pod': podLabel } },
      });
      return r.items;
    };

    const newPod = async (tag: string): Promise<Pod> => {
      const id = uid();
      const name = `soakf-${tag}-${id.slice(0, 8)}`;
      const config = {
        metadata: { name, namespace: 'dcri-soak-faults', uid: id, attempt: 0 },
        hostname: name,
        log_directory: path.join(dir, 'logs', id),
        labels: { [LABEL_KEY]: 'yes', 'dcri-soak-pod': id.slice(0, 8) },
        linux: {},
      };
      fs.mkdirSync(config.log_directory, { recursive: true }); // the kubelet makes it
      try {
        const r = await cri<{ pod_sandbox_id: string }>('RunPodSandbox', { config }, { tries: 3 });
        mine.add(r.pod_sandbox_id);
        return { id: r.pod_sandbox_id, uid: id, config, containers: [] };
      } catch (err) {
        // The kubelet's next sync lists the pod's sandboxes and takes a ready one as its own.
        const listed = await podSandboxes(id.slice(0, 8));
        const ready = listed.find((p) => p.state === 'SANDBOX_READY');
        if (!ready) {
          findings.add(
            `RunPodSandbox failed 3 times (last: ${errMsg(err)
              .replace(/"[^"]*"/g, '"…"')
              .slice(
                0,
                90,
              )}) and ListPodSandbox shows ${listed.length ? listed.map((p) => p.state).join(', ') : 'no sandbox'} for the pod`,
          );
          throw err;
        }
        findings.add(
          `RunPodSandbox failed (${errMsg(err).slice(0, 60)}…) while its sandbox runs: adopted from ListPodSandbox`,
        );
        return { id: ready.id, uid: id, config, containers: [] };
      }
    };

    const addContainer = async (
      pod: Pod,
      kind: Kind,
      attempt: number,
      start = true,
    ): Promise<Pod['containers'][number]> => {
      const logPath = `app_${attempt}.log`;
      const r = await cri<{ container_id: string }>('CreateContainer', {
        pod_sandbox_id: pod.id,
        sandbox_config: pod.config,
        config: {
          metadata: { name: 'app', attempt },
          image: { image: IMAGE },
          command: writer(kind),
          log_path: logPath,
          labels: { [LABEL_KEY]: 'yes', 'dcri-soak-pod': pod.uid.slice(0, 8) },
        },
      });
      const c = { id: r.container_id, kind, logFile: path.join(pod.config.log_directory, logPath) };
      pod.containers.push(c);
      live.set(c.id, kind);
      mine.add(c.id);
      if (start) {
        try {
          await cri('StartContainer', { container_id: c.id }, { tries: 3 });
        } catch (err) {
          // A start whose answer was lost: what counts is whether it runs.
          const st = await cri<{ status: Record<string, unknown> }>('ContainerStatus', {
            container_id: c.id,
          }).then((r) => r.status);
          if (st?.state !== 'CONTAINER_RUNNING' && st?.state !== 'CONTAINER_EXITED') throw err;
        }
      }
      return c;
    };

    const removePod = async (pod: Pod): Promise<void> => {
      await cri('StopPodSandbox', { pod_sandbox_id: pod.id }, { timeoutMs: 60_000 });
      await cri('RemovePodSandbox', { pod_sandbox_id: pod.id }, { timeoutMs: 60_000 });
      for (const c of pod.containers) live.delete(c.id);
      const left = await d.listContainers({
        all: true,
        filters: { label: [`dcri-soak-pod=${pod.uid.slice(0, 8)}`] },
      });
      if (left.length)
        leaks.push({ pod: pod.id, containers: left.map((c) => `${c.Id.slice(0, 12)} ${c.State}`) });
    };

    /** One pod's life as the kubelet drives it, with a restart of an exited container now and then. */
    const lifecycle = async (): Promise<void> => {
      const pod = await newPod('churn');
      const kind = pick<Kind>(['burst', 'burst', 'slow', 'slow', 'stubborn']);
      let c = await addContainer(pod, kind, 0);
      if (kind !== 'burst' && Math.random() < 0.5) {
        const r = await cri<{ exit_code: number; stdout: Buffer }>(
          'ExecSync',
          { container_id: c.id, cmd: ['echo', 'hi'], timeout: 10 },
          { tries: 2 },
        ).catch(() => undefined);
        if (r && r.exit_code !== 0) problems.push(`ExecSync in ${c.id.slice(0, 12)} exit ${r.exit_code}`);
      }
      await cri('ListContainers', { filter: { pod_sandbox_id: pod.id } });
      await cri('PodSandboxStatus', { pod_sandbox_id: pod.id });
      if (kind === 'burst') {
        for (let attempt = 0; ; attempt++) {
          if (await awaitExit(c.id)) {
            const st = await statusOf(c.id);
            if (st && st.exit_code !== 3)
              problems.push(`${c.id.slice(0, 12)}: exit code ${st.exit_code}, wrote exit 3`);
            await checkLog(c, 'EXITED first reported');
          }
          if (attempt >= 1 || Math.random() < 0.5) break;
          c = await addContainer(pod, 'burst', attempt + 1); // the kubelet's restart
        }
      } else {
        await sleep(between(2000, 12_000));
        if (kind === 'stubborn') {
          // Longer than the call timeout: the stop must last its grace period, not the socket's.
          await cri('StopContainer', { container_id: c.id, timeout: 12 }, { timeoutMs: 60_000 });
        }
        await cri('StopPodSandbox', { pod_sandbox_id: pod.id }, { timeoutMs: 60_000 });
        const st = await statusOf(c.id);
        if (st?.state !== 'CONTAINER_EXITED')
          problems.push(`${c.id.slice(0, 12)}: ${st?.state ?? 'no status'} after StopPodSandbox`);
        else await checkLog(c, 'after StopPodSandbox');
      }
      await removePod(pod);
      lifecycles++;
    };

    // Before anything runs: what the process holds idle.
    await sleep(3000);
    const startReport = await report();

    // The kubelet's evented PLEG: one GetContainerEvents stream, reopened when it ends.
    let stream: ClientReadableStream<unknown> | undefined;
    let streaming = true;
    const openEvents = (): void => {
      stream = client.openStream('GetContainerEvents', {});
      // The engine is shared: other work's Kubernetes containers are in the stream too.
      stream.on('data', (ev: { container_event_type?: string; container_id?: string }) =>
        events.add(
          `${mine.has(ev.container_id ?? '') ? 'soak' : 'other'} ${ev.container_event_type ?? 'unknown'}`,
        ),
      );
      stream.on('error', (err: unknown) => {
        events.add(`stream error code ${grpcCode(err)}`);
      });
      stream.on('close', () => {
        if (streaming) setTimeout(openEvents, 1000);
      });
    };
    openEvents();

    // The kubelet's relist, every second.
    let relisting = true;
    const relist = (async () => {
      while (relisting) {
        await cri('ListContainers', {}, { tries: 1 }).catch(() => undefined);
        await cri('ListPodSandbox', {}, { tries: 1 }).catch(() => undefined);
        await sleep(1000);
      }
    })();

    const deadline = Date.now() + MINUTES * 60_000;

    // Faults, one every 2 to 6 s.
    const faultKinds: Array<[string, number, () => Promise<void>]> = [
      [
        'drop one container events',
        3,
        async () => {
          const ids = [...live.keys()];
          if (!ids.length) return;
          const id = pick(ids);
          const undo = proxy.dropEvents((ev: ProxiedEvent) => (ev.id ?? ev.Actor?.ID) === id);
          undoDrops.push(undo);
          setTimeout(undo, between(5000, 20_000));
        },
      ],
      [
        'drop every event 2 s',
        2,
        async () => {
          const undo = proxy.dropEvents(() => true);
          undoDrops.push(undo);
          setTimeout(undo, 2000);
        },
      ],
      [
        '500 on next inspect',
        3,
        async () =>
          proxy.failNext(/^GET \S*\/containers\/[^/]+\/json/, {
            status: 500,
            message: 'fault: injected inspect failure',
            times: 1 + Math.floor(Math.random() * 3),
          }),
      ],
      [
        '500 on next list',
        1,
        async () =>
          proxy.failNext(/^GET \S*\/containers\/json/, {
            status: 500,
            message: 'fault: injected list failure',
          }),
      ],
      [
        'hold stop/inspect/create 3-15 s',
        2,
        async () => {
          const match = pick([
            /^POST \S*\/containers\/[^/]+\/stop/,
            /^GET \S*\/containers\/[^/]+\/json/,
            /^POST \S*\/containers\/create/,
            /^POST \S*\/containers\/[^/]+\/start/,
          ]);
          proxy.hold(match, between(3000, 15_000));
          setTimeout(() => proxy.hold(match, 0), between(2000, 6000));
        },
      ],
      ['reset events stream', 2, async () => void proxy.resetStreams(/^GET \S*\/events/)],
      ['reset log streams', 1, async () => void proxy.resetStreams(/^GET \S*\/containers\/[^/]+\/logs/)],
      [
        '409 on next remove',
        2,
        async () =>
          proxy.failNext(/^DELETE \S*\/containers\//, {
            status: 409,
            message: 'fault: removal of container is already in progress',
          }),
      ],
      [
        'engine refuses 2 s',
        1,
        async () => {
          proxy.refuse(true);
          await sleep(2000);
          proxy.refuse(false);
        },
      ],
    ];
    if (REGISTRY) {
      faultKinds.push([
        '429 on a pull',
        1,
        async () => {
          proxy.failNext(/^POST \S*\/images\/create/, {
            status: 429,
            message: 'toomanyrequests: fault: pull rate limit reached',
          });
          const image = `${REGISTRY}/test/busybox:1.0`;
          const first = await client.img('PullImage', { image: { image } }).then(
            () => 'OK',
            (err: unknown) => `code ${grpcCode(err)}: ${errMsg(err).slice(0, 120)}`,
          );
          faults.add(`429 pull answered ${first}`);
          const second = await client.img('PullImage', { image: { image } }).then(
            () => 'OK',
            (err: unknown) => `code ${grpcCode(err)}`,
          );
          faults.add(`pull after 429 answered ${second}`);
        },
      ]);
    }
    const weighted = faultKinds.flatMap((f) => Array.from({ length: f[1] }, () => f));
    const faulting = (async () => {
      while (Date.now() < deadline && !shimExited) {
        await sleep(between(2000, 6000));
        const [name, , run] = pick(weighted);
        faults.add(name);
        await run().catch((err: unknown) => problems.push(`fault ${name}: ${errMsg(err)}`));
      }
    })();

    // Two pods that live through the whole soak, and the churn workers.
    const keepers: Pod[] = [];
    for (let i = 0; i < KEEPERS; i++) {
      const pod = await newPod('keeper');
      await addContainer(pod, 'slow', 0);
      keepers.push(pod);
    }
    const worker = async (): Promise<void> => {
      while (Date.now() < deadline && !shimExited) {
        try {
          await lifecycle();
        } catch (err) {
          abandoned++;
          abandonReasons.add(
            errMsg(err)
              .replace(/[0-9a-f]{12,64}/g, '<id>')
              .slice(0, 160),
          );
        }
      }
    };
    let lastPrint = Date.now();
    const progress = setInterval(() => {
      if (Date.now() - lastPrint < 60_000) return;
      lastPrint = Date.now();
      console.log(
        `${Math.round((Date.now() - started) / 1000)} s: ${lifecycles} lifecycles, ${abandoned} abandoned, ${Object.values(faults.counts).reduce((a, b) => a + b, 0)} faults, ${logProblems.length} log problems, ${leaks.length} leaks`,
      );
    }, 5000);
    await Promise.all([...Array.from({ length: WORKERS }, worker), faulting]);
    clearInterval(progress);
    if (shimExited) throw new Error(shimExited);

    // The last faults land on a settled set: events of the end pods are dropped while they are made
    // and one of them exits, so only a relist can tell docker-cri.
    const undoAll = proxy.dropEvents(() => true);
    const endRunning = await newPod('end-running');
    await addContainer(endRunning, 'slow', 0);
    const endExited = await newPod('end-exited');
    const exiting = await addContainer(endExited, 'burst', 0);
    const endCreated = await newPod('end-created');
    await addContainer(endCreated, 'slow', 0, false);
    await cri('StopContainer', { container_id: keepers[0].containers[0].id, timeout: 5 });
    await d.getContainer(exiting.id).wait();
    undoAll();
    proxy.clearFaults();
    for (const undo of undoDrops) undo();
    const settledAt = Date.now();

    // Reconciliation: poll until docker-cri agrees with Docker, or the limit.
    const compare = async (withStatuses: boolean): Promise<Mismatch[]> => {
      const list = await d.listContainers({ all: true, filters: { label: [LABEL] } });
      const truth: DockerTruth[] = [];
      for (const c of list) {
        const info = await d
          .getContainer(c.Id)
          .inspect()
          .catch(() => undefined);
        if (!info) continue;
        truth.push({
          id: info.Id,
          sandbox: info.Config.Labels?.['io.kubernetes.docker.type'] === 'podsandbox',
          status: info.State.Status,
          exitCode: info.State.ExitCode,
          startedAt: info.State.StartedAt,
          finishedAt: info.State.FinishedAt,
        });
      }
      const selector = { filter: { label_selector: { [LABEL_KEY]: 'yes' } } };
      const listed = new Map<string, string>();
      const cl = await cri<{ containers: Array<{ id: string; state: string }> }>('ListContainers', selector, {
        tries: 1,
      });
      for (const c of cl.containers) listed.set(c.id, c.state);
      const sl = await cri<{ items: Array<{ id: string; state: string }> }>('ListPodSandbox', selector, {
        tries: 1,
      });
      for (const s of sl.items) listed.set(s.id, s.state);
      if (!withStatuses) return compareWithDocker(truth, { listed });
      const statuses: NonNullable<Parameters<typeof compareWithDocker>[1]['statuses']> = new Map();
      for (const t of truth) {
        if (t.sandbox) continue;
        try {
          const r = await client.rt<{
            status: { state: string; exit_code: number; started_at: string; finished_at: string };
          }>('ContainerStatus', { container_id: t.id });
          statuses.set(t.id, r.status);
        } catch (err) {
          statuses.set(t.id, { error: `code ${grpcCode(err)}: ${errMsg(err).slice(0, 100)}` });
        }
      }
      return compareWithDocker(truth, { listed, statuses });
    };
    /**
     * First the lists alone, as the index has them (a ContainerStatus reads Docker and feeds the
     * index, which would hide an index that does not heal by itself); then lists and statuses.
     */
    const converge = async (withStatuses: boolean, limitS: number): Promise<Convergence> => {
      const from = Date.now();
      let first: Mismatch[] | undefined;
      let last: Mismatch[] = [];
      while (Date.now() - from < limitS * 1000) {
        last = await compare(withStatuses).catch((err: unknown) => [
          { id: '-', what: 'compare failed', docker: '', cri: errMsg(err) },
        ]);
        first ??= last;
        if (last.length === 0) return { afterSeconds: (Date.now() - settledAt) / 1000, first, last };
        await sleep(2000);
      }
      return { afterSeconds: null, first: first ?? [], last };
    };
    const lists = await converge(false, CONVERGE_S);
    const full = await converge(true, 60);
    const mismatches = [...lists.last, ...full.last];

    // Every log file of a container still there, caught up with Docker's log: exactly Docker's
    // lines for a container that stopped; for one still writing, at least the lines Docker had
    // before the file was read (the file is read after the count, and may hold a few more).
    const logsAtEnd: Array<{ container: string; expected: number; log: NumberedLog }> = [];
    const remaining = [...keepers, endRunning, endExited].flatMap((p) => p.containers);
    for (const c of remaining) {
      let expected = 0;
      let log: NumberedLog;
      const until = Date.now() + 30_000;
      for (;;) {
        expected = await engineLines(c.id);
        const { lines, garbage } = criLogLines(
          fs.existsSync(c.logFile) ? fs.readFileSync(c.logFile, 'utf8') : '',
        );
        log = numberedLog(lines, garbage);
        if (logCaughtUp(log, expected) || c.kind !== 'slow' || Date.now() > until) break;
        await sleep(1000); // a running writer: the pump follows it
      }
      logsChecked++;
      if (!logCaughtUp(log, expected)) {
        logsAtEnd.push({ container: c.id, expected, log });
        keepLog(c.logFile, c.id);
        // Docker's own file beside it, to compare timestamps with the shim's trace.
        const info = await d
          .getContainer(c.id)
          .inspect()
          .catch(() => undefined);
        if (info?.LogPath) keepLog(info.LogPath, c.id, '-json');
      }
    }

    // Tear down through the CRI, then see what is left.
    relisting = false;
    await relist;
    for (const pod of [...keepers, endRunning, endExited, endCreated]) {
      await removePod(pod).catch((err: unknown) =>
        problems.push(`teardown ${pod.id.slice(0, 12)}: ${errMsg(err)}`),
      );
    }
    // And the pods of abandoned lifecycles and removes that left a sandbox: whatever docker-cri
    // lists goes through the CRI.
    const rest = await cri<{ items: Array<{ id: string }> }>('ListPodSandbox', {
      filter: { label_selector: { [LABEL_KEY]: 'yes' } },
    });
    for (const p of rest.items) {
      await cri('StopPodSandbox', { pod_sandbox_id: p.id }, { timeoutMs: 60_000 })
        .then(() => cri('RemovePodSandbox', { pod_sandbox_id: p.id }, { timeoutMs: 60_000 }))
        .catch((err: unknown) => problems.push(`teardown ${p.id.slice(0, 12)}: ${errMsg(err)}`));
    }
    // The kubelet's container GC: every container docker-cri still lists (a pod's remove that
    // left one behind) is removed by id.
    const orphans = await cri<{ containers: Array<{ id: string }> }>('ListContainers', {
      filter: { label_selector: { [LABEL_KEY]: 'yes' } },
    });
    for (const c of orphans.containers) {
      await cri('RemoveContainer', { container_id: c.id }).catch((err: unknown) =>
        problems.push(`teardown ${c.id.slice(0, 12)}: ${errMsg(err)}`),
      );
    }
    const strays = await d.listContainers({ all: true, filters: { label: [LABEL] } });
    // What docker-cri says of each container Docker still has: none of them is in its lists.
    const strayViews: string[] = [];
    for (const c of strays) {
      const sandbox = c.Labels['io.kubernetes.docker.type'] === 'podsandbox';
      const view = await client
        .rt<{ status: { state: string } }>(
          sandbox ? 'PodSandboxStatus' : 'ContainerStatus',
          sandbox ? { pod_sandbox_id: c.Id } : { container_id: c.Id },
        )
        .then(
          (r) => r.status.state,
          (err: unknown) => `code ${grpcCode(err)}: ${errMsg(err).slice(0, 100)}`,
        );
      const all = await cri<{ items?: Array<{ id: string }>; containers?: Array<{ id: string }> }>(
        sandbox ? 'ListPodSandbox' : 'ListContainers',
        {},
      );
      const inList = [...(all.items ?? []), ...(all.containers ?? [])].some((x) => x.id === c.Id);
      strayViews.push(
        `${c.Id.slice(0, 12)} ${c.State} ${c.Names[0]}: status ${view}, ${inList ? 'listed' : 'not listed'} by docker-cri`,
      );
    }
    streaming = false;
    stream?.cancel();
    // Idle keep-alive sockets to the engine close after 5 s; a read or timer in flight is not a
    // leak, so a growth must show in three reports 5 s apart.
    await sleep(10_000);
    const endReports: Report[] = [];
    let endReport = await report();
    endReports.push(endReport);
    for (let i = 0; i < 2 && grew(startReport, endReport); i++) {
      await sleep(5000);
      endReport = await report();
      endReports.push(endReport);
    }

    const handleGrowth: Record<string, string> = {};
    for (const k of new Set([
      ...Object.keys(startReport.activeResources),
      ...Object.keys(endReport.activeResources),
    ])) {
      const a = startReport.activeResources[k] ?? 0;
      const b = endReport.activeResources[k] ?? 0;
      if (a !== b) handleGrowth[k] = `${a} → ${b}`;
    }
    const heldOver =
      endReport.fds > startReport.fds + 2 ||
      timers(endReport) > timers(startReport) + 2 ||
      Object.entries(endReport.activeResources).some(
        ([k, v]) => k !== 'Timeout' && v > (startReport.activeResources[k] ?? 0) + 1,
      );
    const logFailures = logProblems.filter((p) => !p.when.includes('complete 10 s later'));
    const pass =
      lists.afterSeconds !== null &&
      full.afterSeconds !== null &&
      logFailures.length === 0 &&
      logsAtEnd.length === 0 &&
      strays.length === 0 &&
      !heldOver &&
      !shimLog.counts.MaxListenersExceededWarning;

    const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
    printTable(
      `Chaos soak: ${MINUTES} min of churn with faults, ${Math.round((Date.now() - started) / 1000)} s in all`,
      [
        { what: 'pod lifecycles completed', value: lifecycles },
        { what: 'lifecycles abandoned (a call failed 8 times)', value: abandoned },
        {
          what: 'faults injected',
          value: Object.entries(faults.counts)
            .filter(([k]) => !k.includes('answered'))
            .reduce((a, [, b]) => a + b, 0),
        },
        {
          what: 'CRI calls / failed',
          value: `${Object.values(calls.counts).reduce((a, b) => a + b, 0)} / ${Object.values(errors.counts).reduce((a, b) => a + b, 0)}`,
        },
        {
          what: 'exit seen by ContainerStatus after Docker, p50 / p99 / max ms',
          value: `${percentile(exitLagMs, 50)} / ${percentile(exitLagMs, 99)} / ${Math.max(0, ...exitLagMs)}`,
        },
        {
          what: 'log files checked / lost or doubled lines / late',
          value: `${logsChecked} / ${logFailures.length + logsAtEnd.length} / ${logProblems.length - logFailures.length}`,
        },
        {
          what: `lists (index alone) = Docker after faults off (limit ${CONVERGE_S} s)`,
          value:
            lists.afterSeconds === null
              ? `NO: ${lists.last.length} mismatches`
              : `${lists.afterSeconds.toFixed(1)} s`,
        },
        {
          what: 'lists and ContainerStatus = Docker (60 s more)',
          value:
            full.afterSeconds === null
              ? `NO: ${full.last.length} mismatches`
              : `${full.afterSeconds.toFixed(1)} s`,
        },
        // An injected 409 never reaches Docker, so the container stays; what counts is that the
        // lists show it (the reconciliation above) and the kubelet's GC can remove it (below).
        { what: 'containers left after RemovePodSandbox OK (409 injected)', value: leaks.length },
        { what: 'containers left after teardown and GC (invisible)', value: strays.length },
        { what: 'fds start → end', value: `${startReport.fds} → ${endReport.fds}` },
        { what: 'timers start → end', value: `${timers(startReport)} → ${timers(endReport)}` },
        {
          what: 'RSS MiB start → end',
          value: `${mib(startReport.memory.rss)} → ${mib(endReport.memory.rss)}`,
        },
      ],
    );
    for (const m of mismatches.slice(0, 30))
      console.log(`mismatch ${m.id.slice(0, 12)} ${m.what}: docker ${m.docker}, docker-cri ${m.cri}`);
    for (const p of [...logProblems, ...logsAtEnd].slice(0, 20)) console.log(`log ${JSON.stringify(p)}`);
    for (const p of problems.slice(0, 30)) console.log(`problem: ${p}`);
    for (const p of strayViews) console.log(`left in Docker after teardown: ${p}`);
    for (const l of leaks)
      console.log(
        `left in Docker after RemovePodSandbox OK: pod ${l.pod.slice(0, 12)}: ${l.containers.join(', ')}`,
      );
    for (const [f, n] of Object.entries(findings.counts)) console.log(`finding (${n}x): ${f}`);
    for (const [f, n] of Object.entries(abandonReasons.counts)) console.log(`abandoned (${n}x): ${f}`);
    console.log(pass ? 'PASS' : 'FAIL');

    const file = writeResults(
      MINUTES === 30 ? 'soak-faults' : `soak-faults-${MINUTES}m`,
      {
        minutes: MINUTES,
        workers: WORKERS,
        keepers: KEEPERS,
        dockerCallTimeout: CALL_TIMEOUT,
        convergeLimitSeconds: CONVERGE_S,
        note: 'machine shared with other work; docker-cri behind the fault proxy (test/support/fault-proxy.ts)',
        lifecycles,
        abandoned,
        faults: faults.counts,
        calls: calls.counts,
        errors: errors.counts,
        events: events.counts,
        exitLagMs: {
          n: exitLagMs.length,
          p50: percentile(exitLagMs, 50),
          p99: percentile(exitLagMs, 99),
          max: Math.max(0, ...exitLagMs),
          over5s: slowExits,
        },
        logs: { checked: logsChecked, problems: logProblems, atEnd: logsAtEnd },
        reconciliation: { listsOnly: lists, listsAndStatuses: full },
        leaks,
        strays: strayViews,
        podsRemovedAtTeardown: rest.items.length,
        orphansRemovedAtTeardown: orphans.containers.length,
        resources: { start: startReport, end: endReport, endReports: endReports.length, handleGrowth },
        shimWarnings: shimLog.counts,
        findings: findings.counts,
        abandonReasons: abandonReasons.counts,
        problems,
        pass,
      },
      await engineDescription(),
    );
    console.log(`wrote ${file}`);
    if (!pass) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
