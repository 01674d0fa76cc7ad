import {
  median,
  printTable,
  removeByLabel,
  runPool,
  sleep,
  startBinaryShim,
  uid,
  writeResults,
  type BenchShim,
  type Row,
} from './support';

/** The shim's resident memory: idle, holding 100 running pods, and after pod churn. */
const PODS = Number(process.env.BENCH_MEMORY_PODS ?? 100);
const CHURN_ROUNDS = Number(process.env.BENCH_CHURN_ROUNDS ?? 3);
const LABEL = 'dcri-bench=memory';

async function runPod(shim: BenchShim): Promise<string> {
  const id = uid();
  const name = `mem-${id.slice(0, 8)}`;
  const config = {
    metadata: { name, namespace: 'dcri-bench', uid: id, attempt: 0 },
    log_directory: `${shim.dir}/logs/${id}`,
    labels: { 'dcri-bench': 'memory' },
    linux: {},
  };
  const { pod_sandbox_id } = await shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
  return pod_sandbox_id;
}

async function removePods(shim: BenchShim, ids: string[]): Promise<void> {
  await runPool(ids.length, 10, async (i) => {
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: ids[i] });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: ids[i] });
  });
}

async function settledRss(shim: BenchShim): Promise<number> {
  await sleep(2000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(shim.rssBytes());
    await sleep(200);
  }
  return median(samples);
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const shim = await startBinaryShim();
  const mib = (b: number): number => b / 2 ** 20;
  try {
    const idle = await settledRss(shim);
    const ids: string[] = [];
    await runPool(PODS, 10, async () => {
      ids.push(await runPod(shim));
    });
    await shim.client.rt('ListPodSandbox', {});
    const loaded = await settledRss(shim);
    await removePods(shim, ids.splice(0));
    for (let r = 0; r < CHURN_ROUNDS; r++) {
      const round: string[] = [];
      await runPool(PODS, 10, async () => {
        round.push(await runPod(shim));
      });
      await removePods(shim, round);
    }
    const afterChurn = await settledRss(shim);
    const rows: Row[] = [
      { state: 'idle', 'RSS MiB': mib(idle) },
      { state: `${PODS} running pods`, 'RSS MiB': mib(loaded) },
      { state: `after ${CHURN_ROUNDS}×${PODS} pods created and removed`, 'RSS MiB': mib(afterChurn) },
    ];
    printTable('docker-cri resident memory', rows);
    console.log(`wrote ${writeResults('memory', { pods: PODS, churnRounds: CHURN_ROUNDS, rows })}`);
  } finally {
    await shim.stop();
    await removeByLabel(LABEL);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
