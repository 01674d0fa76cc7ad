import {
  docker,
  median,
  printTable,
  removeByLabel,
  runPool,
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
const CONTAINERS = Number(process.env.BENCH_STATS_CONTAINERS ?? 50);
const PER_POD = 10;
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
    const sandbox = await d.createContainer({
      name: `k8s_POD_${pod}_dcri-bench_${id}_0`,
      Image: 'registry.k8s.io/pause:3.10',
      Labels: { ...labels, 'io.kubernetes.docker.type': 'podsandbox', 'io.kubernetes.container.name': 'POD' },
      HostConfig: { NetworkMode: 'none' },
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
        HostConfig: { NetworkMode: `container:${sandbox.id}` },
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
  const shim = await startBinaryShim();
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
    const cri: number[] = [];
    for (let i = 0; i < CRI_RUNS; i++) cri.push((await timeMs(list))[0]);

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
      { what: `docker-cri ListContainerStats (${ids.length} containers)`, median_ms: criMs, runs: CRI_RUNS },
      { what: 'docker-cri first timed call', median_ms: firstMs, runs: 1 },
      { what: `Docker stats stream=false x${ids.length}, parallel`, median_ms: dockerMs, runs: DOCKER_RUNS },
      { what: `Docker stats one-shot x${ids.length}, parallel`, median_ms: oneShotMs, runs: DOCKER_RUNS },
    ];
    printTable('ListContainerStats vs Docker per-container stats', rows);
    const ratio = dockerMs / criMs;
    console.log(
      `docker-cri is ${ratio.toFixed(1)}x faster than Docker stats (stream=false), ${(oneShotMs / criMs).toFixed(1)}x than one-shot`,
    );
    const file = writeResults('stats', {
      containers: ids.length,
      criMedianMs: criMs,
      criFirstCallMs: firstMs,
      dockerStatsMedianMs: dockerMs,
      dockerOneShotMedianMs: oneShotMs,
      ratio,
      ratioOneShot: oneShotMs / criMs,
      criRunsMs: cri,
      dockerRunsMs: raw,
      dockerOneShotRunsMs: rawOneShot,
    });
    console.log(`results: ${file}`);
    if (ratio < 10) {
      console.error(`expected docker-cri to be at least 10x faster, got ${ratio.toFixed(1)}x`);
      process.exitCode = 1;
    }
  } finally {
    await shim.stop();
    await removeByLabel(LABEL);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
