import fs from 'fs';
import os from 'os';
import path from 'path';
import {
  cpuSecondsOf,
  docker,
  engineDescription,
  median,
  printTable,
  removeByLabel,
  runPool,
  sleep,
  startBinaryShim,
  timeMs,
  uid,
  writeResults,
  type Row,
} from './support';

/**
 * The kubelet's periodic ListContainerStats over N running containers: docker-cri reads cgroup
 * files; the baseline is what a runtime without them does, one Docker stats call per container
 * (stream=false), all of them in parallel, for the same containers in the same run.
 */
const CONTAINERS = Number(process.env.BENCH_STATS_CONTAINERS ?? 100);
/** 2 a pod: 100 containers make the 50 pods ListPodSandboxStats is measured over. */
const PER_POD = Number(process.env.BENCH_STATS_PER_POD ?? 2);
/**
 * As the kubelet runs pods: each under a pod cgroup of its own (cgroup_parent), which pod stats
 * read instead of summing the containers. BENCH_STATS_POD_CGROUP=0 leaves them out.
 */
const POD_CGROUPS = process.env.BENCH_STATS_POD_CGROUP !== '0';
const CGROUP_ROOT = 'dcri-bench-stats';
const CRI_RUNS = 30;
const DOCKER_RUNS = 5;
const LABEL = 'dcri-bench=stats';

interface StatsAnswer {
  stats: Array<{
    attributes: { id: string };
    cpu: { usage_core_nano_seconds: { value: string } | null } | null;
  }>;
}

async function populate(): Promise<string[]> {
  const d = docker();
  const ids: string[] = [];
  for (let p = 0; p * PER_POD < CONTAINERS; p++) {
    const id = uid();
    const pod = `stats-${id.slice(0, 8)}`;
    const labels = {
      'io.kubernetes.pod.name': pod,
      'io.kubernetes.pod.namespace': 'dcri-bench',
      'io.kubernetes.pod.uid': id,
      'dcri-bench': 'stats',
    };
    const cgroup = POD_CGROUPS ? { CgroupParent: `/${CGROUP_ROOT}/pod${id}` } : {};
    const sandbox = await d.createContainer({
      name: `k8s_POD_${pod}_dcri-bench_${id}_0`,
      Image: 'registry.k8s.io/pause:3.10',
      Labels: { ...labels, 'io.kubernetes.docker.type': 'podsandbox', 'io.kubernetes.container.name': 'POD' },
      HostConfig: { NetworkMode: 'none', ...cgroup },
    });
    await sandbox.start();
    const n = Math.min(PER_POD, CONTAINERS - p * PER_POD);
    await runPool(n, 4, async (c) => {
      const ctr = await d.createContainer({
        name: `k8s_c${c}_${pod}_dcri-bench_${id}_0`,
        Image: 'busybox:latest',
        Cmd: ['sleep', '3600'],
        Labels: {
          ...labels,
          'io.kubernetes.docker.type': 'container',
          'io.kubernetes.sandbox.id': sandbox.id,
          'io.kubernetes.container.name': `c${c}`,
        },
        HostConfig: { NetworkMode: `container:${sandbox.id}`, ...cgroup },
      });
      await ctr.start();
      ids.push(ctr.id);
    });
  }
  return ids;
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const d = docker();
  // At debug the shim logs each call's own duration: the server-side time, without the client's
  // decoding and the machine's scheduling of the bench process.
  const shim = await startBinaryShim([], { logLevel: 'debug', pipeStderr: true });
  const served: Record<string, number[]> = {};
  let carry = '';
  shim.child.stderr?.on('data', (d: Buffer) => {
    const lines = (carry + d.toString()).split('\n');
    carry = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.includes('"cri call"')) continue;
      const e = JSON.parse(l) as { method: string; durationMs: number };
      (served[e.method] ??= []).push(e.durationMs);
    }
  });
  try {
    const ids = await populate();
    const list = async (): Promise<StatsAnswer> => {
      const res = await shim.client.rt<StatsAnswer>('ListContainerStats', {
        filter: { label_selector: { 'dcri-bench': 'stats' } },
      });
      if (res.stats.length !== ids.length || res.stats.some((s) => !s.cpu?.usage_core_nano_seconds)) {
        throw new Error(`ListContainerStats gave ${res.stats.length} of ${ids.length} containers with CPU`);
      }
      return res;
    };
    // Until the shim's index has seen every start event, some containers still look "created".
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await shim.client.rt<StatsAnswer>('ListContainerStats', {
        filter: { label_selector: { 'dcri-bench': 'stats' } },
      });
      if (res.stats.length === ids.length && res.stats.every((s) => s.cpu?.usage_core_nano_seconds)) break;
      if (Date.now() > until) throw new Error('the shim never saw every container running');
      await new Promise((r) => setTimeout(r, 200));
    }
    // (That also made each container's single inspect: pid, cgroup, writable layer.)
    const [firstMs] = await timeMs(list);
    // CPU the shim spends per call: unlike wall time, it does not grow with the machine's load.
    const pid = shim.child.pid as number;
    const cri: number[] = [];
    let cpu0 = cpuSecondsOf(pid);
    // Apart by more than the collector reuses a reading (0.5 s), so that every call reads cgroups.
    const spaced = async (fn: () => Promise<unknown>): Promise<number> => {
      await sleep(600);
      return (await timeMs(fn))[0];
    };
    served.ListContainerStats = [];
    for (let i = 0; i < CRI_RUNS; i++) cri.push(await spaced(list));
    // (Includes the shim's background work over the runs: log pumps of every container on the
    // engine, index refreshes for other clients' containers.)
    const criCpuMs = ((cpuSecondsOf(pid) - cpu0) * 1000) / CRI_RUNS;
    const podCount = Math.ceil(ids.length / PER_POD);
    const listPods = async (): Promise<void> => {
      const res = await shim.client.rt<{ stats: unknown[] }>('ListPodSandboxStats', {
        filter: { label_selector: { 'dcri-bench': 'stats' } },
      });
      if (res.stats.length !== podCount) throw new Error(`ListPodSandboxStats gave ${res.stats.length} pods`);
    };
    await listPods();
    const criPods: number[] = [];
    cpu0 = cpuSecondsOf(pid);
    served.ListPodSandboxStats = [];
    for (let i = 0; i < CRI_RUNS; i++) criPods.push(await spaced(listPods));
    const criPodsCpuMs = ((cpuSecondsOf(pid) - cpu0) * 1000) / CRI_RUNS;

    const dockerAll = (): Promise<unknown> =>
      Promise.all(ids.map((id) => d.getContainer(id).stats({ stream: false })));
    const raw: number[] = [];
    for (let i = 0; i < DOCKER_RUNS; i++) raw.push((await timeMs(dockerAll))[0]);
    const oneShot = (): Promise<unknown> =>
      Promise.all(ids.map((id) => d.getContainer(id).stats({ stream: false, 'one-shot': true })));
    const rawOneShot: number[] = [];
    for (let i = 0; i < DOCKER_RUNS; i++) rawOneShot.push((await timeMs(oneShot))[0]);

    const criMs = median(cri);
    const dockerMs = median(raw);
    const oneShotMs = median(rawOneShot);
    const rows: Row[] = [
      {
        what: `docker-cri ListContainerStats (${ids.length} containers)`,
        median_ms: criMs,
        min_ms: Math.min(...cri),
        'served median ms': median(served.ListContainerStats),
        'shim CPU ms/call': criCpuMs,
        runs: CRI_RUNS,
      },
      {
        what: 'docker-cri first timed call',
        median_ms: firstMs,
        min_ms: firstMs,
        'shim CPU ms/call': '',
        runs: 1,
      },
      {
        what: `docker-cri ListPodSandboxStats (${podCount} pods${POD_CGROUPS ? ', each in its own cgroup' : ', containers summed'})`,
        median_ms: median(criPods),
        min_ms: Math.min(...criPods),
        'served median ms': median(served.ListPodSandboxStats),
        'shim CPU ms/call': criPodsCpuMs,
        runs: CRI_RUNS,
      },
      { what: `Docker stats stream=false x${ids.length}, parallel`, median_ms: dockerMs, runs: DOCKER_RUNS },
      { what: `Docker stats one-shot x${ids.length}, parallel`, median_ms: oneShotMs, runs: DOCKER_RUNS },
    ];
    printTable('ListContainerStats vs Docker per-container stats', rows);
    const ratio = dockerMs / criMs;
    console.log(
      `docker-cri is ${ratio.toFixed(1)}x faster than Docker stats (stream=false), ${(oneShotMs / criMs).toFixed(1)}x than one-shot`,
    );
    const file = writeResults(
      POD_CGROUPS ? 'stats' : 'stats-summed',
      {
        containers: ids.length,
        criMedianMs: criMs,
        criFirstCallMs: firstMs,
        pods: podCount,
        podCgroups: POD_CGROUPS,
        criPodsMedianMs: median(criPods),
        criServedMs: served.ListContainerStats,
        criPodsServedMs: served.ListPodSandboxStats,
        criCpuMsPerCall: criCpuMs,
        criPodsCpuMsPerCall: criPodsCpuMs,
        loadAverage: os.loadavg(),
        criPodsRunsMs: criPods,
        note: 'machine shared with other work',
        dockerStatsMedianMs: dockerMs,
        dockerOneShotMedianMs: oneShotMs,
        ratio,
        ratioOneShot: oneShotMs / criMs,
        criRunsMs: cri,
        dockerRunsMs: raw,
        dockerOneShotRunsMs: rawOneShot,
      },
      await engineDescription(),
    );
    console.log(`results: ${file}`);
    if (ratio < 10) {
      console.error(`expected docker-cri to be at least 10x faster, got ${ratio.toFixed(1)}x`);
      process.exitCode = 1;
    }
  } finally {
    await shim.stop();
    await removeByLabel(LABEL);
    removePodCgroups();
  }
}

/** The bench's own pod cgroups, empty once its containers are gone (runc removes only its own). */
function removePodCgroups(): void {
  for (const controller of fs.readdirSync('/sys/fs/cgroup')) {
    const root = path.join('/sys/fs/cgroup', controller, CGROUP_ROOT);
    if (!fs.existsSync(root)) continue;
    for (const pod of fs.readdirSync(root, { withFileTypes: true })) {
      if (pod.isDirectory()) fs.rmdirSync(path.join(root, pod.name));
    }
    fs.rmdirSync(root);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
