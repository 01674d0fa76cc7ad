import fs from 'fs';
import {
  docker,
  median,
  percentile,
  printTable,
  removeByLabel,
  runPool,
  startBinaryShim,
  uid,
  writeResults,
  type BenchShim,
  type Row,
} from './support';

/**
 * Pod lifecycle through docker-cri (RunPodSandbox, CreateContainer, StartContainer, StopPodSandbox,
 * RemovePodSandbox) beside the same Docker work done with raw dockerode calls: the floor.
 */
const PODS = Number(process.env.BENCH_PODS ?? 30);
const CONCURRENCY = 10;
const PAUSE = 'registry.k8s.io/pause:3.10';
const BUSYBOX = 'busybox:latest';
const LABEL = 'dcri-bench=pod-lifecycle';

async function criPod(shim: BenchShim): Promise<void> {
  const id = uid();
  const name = `bench-${id.slice(0, 8)}`;
  const sandboxConfig = {
    metadata: { name, namespace: 'dcri-bench', uid: id, attempt: 0 },
    hostname: name,
    log_directory: fs.mkdtempSync(`${shim.dir}/logs-`),
    labels: {
      'io.kubernetes.pod.name': name,
      'io.kubernetes.pod.namespace': 'dcri-bench',
      'dcri-bench': 'pod-lifecycle',
    },
    linux: {},
  };
  const { pod_sandbox_id } = await shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
    config: sandboxConfig,
  });
  const { container_id } = await shim.client.rt<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id,
    sandbox_config: sandboxConfig,
    config: {
      metadata: { name: 'app', attempt: 0 },
      image: { image: BUSYBOX },
      command: ['sleep', '3600'],
      log_path: 'app/0.log',
      labels: { 'dcri-bench': 'pod-lifecycle' },
    },
  });
  await shim.client.rt('StartContainer', { container_id });
  await shim.client.rt('StopPodSandbox', { pod_sandbox_id });
  await shim.client.rt('RemovePodSandbox', { pod_sandbox_id });
}

/** The Docker work a pod needs, by hand: what docker-cri cannot do with less. */
async function rawPod(): Promise<void> {
  const d = docker();
  const id = uid().slice(0, 12);
  const pause = await d.createContainer({
    name: `dcri-bench-raw-pause-${id}`,
    Image: PAUSE,
    Hostname: `bench-${id}`,
    Labels: { 'dcri-bench': 'pod-lifecycle' },
    HostConfig: { IpcMode: 'shareable', RestartPolicy: { Name: 'no' } },
  });
  await pause.start();
  await pause.inspect();
  const app = await d.createContainer({
    name: `dcri-bench-raw-app-${id}`,
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { 'dcri-bench': 'pod-lifecycle' },
    HostConfig: {
      NetworkMode: `container:${pause.id}`,
      IpcMode: `container:${pause.id}`,
      PidMode: `container:${pause.id}`,
    },
  });
  await app.start();
  await app.stop({ t: 0 });
  await pause.stop({ t: 0 });
  await app.remove({ force: true });
  await pause.remove({ force: true });
}

interface Series {
  sequential: number[];
  concurrent: number[];
}

async function measure(one: () => Promise<void>): Promise<Series> {
  await one(); // warm caches (image layers, code paths) before timing
  const sequential = await runPool(PODS, 1, async () => one());
  const concurrent = await runPool(PODS, CONCURRENCY, async () => one());
  return { sequential, concurrent };
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const shim = await startBinaryShim();
  try {
    // Alternate the two so that drift of the machine hits both alike.
    const raw1 = await measure(rawPod);
    const cri1 = await measure(() => criPod(shim));
    const raw2 = await measure(rawPod);
    const cri2 = await measure(() => criPod(shim));
    const raw: Series = {
      sequential: [...raw1.sequential, ...raw2.sequential],
      concurrent: [...raw1.concurrent, ...raw2.concurrent],
    };
    const cri: Series = {
      sequential: [...cri1.sequential, ...cri2.sequential],
      concurrent: [...cri1.concurrent, ...cri2.concurrent],
    };
    const rows: Row[] = [];
    for (const mode of ['sequential', 'concurrent'] as const) {
      rows.push({
        mode: mode === 'sequential' ? 'sequential' : `concurrency ${CONCURRENCY}`,
        pods: cri[mode].length,
        'docker-cri median ms': median(cri[mode]),
        'docker-cri p95 ms': percentile(cri[mode], 95),
        'raw docker median ms': median(raw[mode]),
        'raw docker p95 ms': percentile(raw[mode], 95),
        'overhead (median ratio)': median(cri[mode]) / median(raw[mode]),
      });
    }
    printTable('Pod lifecycle: Run+Create+Start+StopPod+RemovePod, per pod', rows);
    const file = writeResults('pod-lifecycle', {
      podsPerRun: PODS,
      concurrency: CONCURRENCY,
      rows,
      raw,
      cri,
    });
    console.log(`wrote ${file}`);
  } finally {
    await shim.stop();
    await removeByLabel(LABEL);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
