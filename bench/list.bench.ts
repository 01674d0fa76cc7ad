import {
  docker,
  median,
  printTable,
  removeByLabel,
  startBinaryShim,
  timeMs,
  uid,
  writeResults,
  type Row,
} from './support';

/**
 * The kubelet's periodic list calls with many containers present: docker-cri answers from its
 * events-fed index; the raw figures are the Docker list/inspect calls a runtime without one makes.
 */
const SIZES = (process.env.BENCH_LIST_SIZES ?? '100,500').split(',').map(Number);
const RUNS = 30;
const LABEL = 'dcri-bench=list';
const CONTAINERS_PER_POD = 4;

/** Makes pods the way docker-cri labels them (created, not started: listing does not care). */
async function populate(total: number, have: number): Promise<void> {
  const d = docker();
  const jobs: Array<() => Promise<void>> = [];
  for (let n = have; n < total; n += CONTAINERS_PER_POD + 1) {
    jobs.push(async () => {
      const id = uid();
      const pod = `list-${id.slice(0, 8)}`;
      const sandbox = await d.createContainer({
        name: `k8s_POD_${pod}_dcri-bench_${id}_0`,
        Image: 'registry.k8s.io/pause:3.10',
        Labels: {
          'io.kubernetes.docker.type': 'podsandbox',
          'io.kubernetes.container.name': 'POD',
          'io.kubernetes.pod.name': pod,
          'io.kubernetes.pod.namespace': 'dcri-bench',
          'io.kubernetes.pod.uid': id,
          'dcri-bench': 'list',
        },
      });
      for (let c = 0; c < CONTAINERS_PER_POD; c++) {
        await d.createContainer({
          name: `k8s_c${c}_${pod}_dcri-bench_${id}_0`,
          Image: 'busybox:latest',
          Cmd: ['true'],
          Labels: {
            'io.kubernetes.docker.type': 'container',
            'io.kubernetes.sandbox.id': sandbox.id,
            'io.kubernetes.container.name': `c${c}`,
            'io.kubernetes.pod.name': pod,
            'io.kubernetes.pod.namespace': 'dcri-bench',
            'io.kubernetes.pod.uid': id,
            'dcri-bench': 'list',
          },
        });
      }
    });
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
}

async function medianOf(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await timeMs(fn))[0]);
  return median(times);
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const d = docker();
  const rows: Row[] = [];
  let have = 0;
  try {
    for (const size of SIZES) {
      await populate(size, have);
      have = size;
      const shim = await startBinaryShim();
      try {
        const total = (
          await d.listContainers({ all: true, filters: { label: ['io.kubernetes.docker.type'] } })
        ).length;
        const one = (
          await d.listContainers({
            all: true,
            filters: { label: [LABEL, 'io.kubernetes.docker.type=container'] },
          })
        )[0];
        const pairs: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
          [
            'ListPodSandbox',
            () => shim.client.rt('ListPodSandbox', {}),
            () =>
              d.listContainers({ all: true, filters: { label: ['io.kubernetes.docker.type=podsandbox'] } }),
          ],
          [
            'ListContainers',
            () => shim.client.rt('ListContainers', {}),
            () =>
              d.listContainers({ all: true, filters: { label: ['io.kubernetes.docker.type=container'] } }),
          ],
          [
            'ListContainers (label filter)',
            () =>
              shim.client.rt('ListContainers', {
                filter: { label_selector: { 'io.kubernetes.container.name': 'c1' } },
              }),
            () =>
              d.listContainers({
                all: true,
                filters: {
                  label: ['io.kubernetes.docker.type=container', 'io.kubernetes.container.name=c1'],
                },
              }),
          ],
          [
            'ContainerStatus',
            () => shim.client.rt('ContainerStatus', { container_id: one.Id }),
            () => d.getContainer(one.Id).inspect(),
          ],
        ];
        for (const [call, cri, raw] of pairs) {
          const criMs = await medianOf(cri);
          const rawMs = await medianOf(raw);
          rows.push({
            containers: total,
            call,
            'docker-cri median ms': criMs,
            'raw docker median ms': rawMs,
            'ratio (cri/raw)': criMs / rawMs,
          });
        }
      } finally {
        await shim.stop();
      }
    }
    printTable('List calls (median of 30)', rows);
    console.log(`wrote ${writeResults('list', { runs: RUNS, rows })}`);
  } finally {
    await removeByLabel(LABEL);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
