import fs from 'fs';
import {
  docker,
  engineDescription,
  median,
  percentile,
  printTable,
  removeByLabel,
  runPool,
  startBinaryShim,
  timeMs,
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

/** Per-step times (ms), by step name, of the CRI calls and of the raw Docker calls they need. */
type Steps = Record<string, number[]>;
const criSteps: Steps = {};
const rawSteps: Steps = {};

async function step<T>(into: Steps, name: string, fn: () => Promise<T>): Promise<T> {
  const [ms, out] = await timeMs(fn);
  (into[name] ??= []).push(ms);
  return out;
}

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
  const { container_id } = await step(criSteps, 'CreateContainer', () =>
    shim.client.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id,
      sandbox_config: sandboxConfig,
      config: {
        metadata: { name: 'app', attempt: 0 },
        image: { image: BUSYBOX },
        command: ['sleep', '3600'],
        log_path: 'app/0.log',
        labels: { 'dcri-bench': 'pod-lifecycle' },
      },
    }),
  );
  await shim.client.rt('StartContainer', { container_id });
  await step(criSteps, 'PodSandboxStatus', () => shim.client.rt('PodSandboxStatus', { pod_sandbox_id }));
  // The kubelet asks again and again; nothing changed since, so the containers come from the cache.
  await step(criSteps, 'PodSandboxStatus again', () =>
    shim.client.rt('PodSandboxStatus', { pod_sandbox_id }),
  );
  await step(criSteps, 'StopPodSandbox', () => shim.client.rt('StopPodSandbox', { pod_sandbox_id }));
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
  // CreateContainer needs the sandbox (namespaces, cgroup parent) and the image (its config).
  const app = await step(rawSteps, 'CreateContainer', async () => {
    await pause.inspect();
    await d.getImage(BUSYBOX).inspect();
    return d.createContainer({
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
  });
  await app.start();
  // PodSandboxStatus needs the sandbox's inspect; StopPodSandbox stops the members, then the sandbox.
  await step(rawSteps, 'PodSandboxStatus', () => pause.inspect());
  await step(rawSteps, 'PodSandboxStatus again', () => pause.inspect());
  await step(rawSteps, 'StopPodSandbox', async () => {
    await pause.inspect();
    await app.stop({ t: 0 });
    await pause.stop({ t: 0 });
  });
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
    printTable('Pod lifecycle: Run+Create+Start+Status+StopPod+RemovePod, per pod', rows);
    // Steps of the sequential and concurrent runs alike; the floor is the same Docker work by hand.
    const stepRows: Row[] = Object.keys(criSteps).map((name) => ({
      call: name,
      'docker-cri median ms': median(criSteps[name]),
      'raw docker median ms': median(rawSteps[name] ?? []),
      'overhead ms (medians)': median(criSteps[name]) - median(rawSteps[name] ?? []),
      n: criSteps[name].length,
    }));
    printTable('Single calls against the raw Docker calls they need', stepRows);
    const file = writeResults(
      'pod-lifecycle',
      {
        podsPerRun: PODS,
        concurrency: CONCURRENCY,
        note: 'machine shared with other work',
        rows,
        stepRows,
        raw,
        cri,
      },
      await engineDescription(),
    );
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
