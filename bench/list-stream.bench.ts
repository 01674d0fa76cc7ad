import fs from 'fs';
import * as grpc from '@grpc/grpc-js';
import { createMassPods, MASS_LABEL, newMassBatch, removeMassPods } from '../test/support/mass-pods';
import {
  docker,
  median,
  printTable,
  sleep,
  startBinaryShim,
  timeMs,
  writeResults,
  type BenchShim,
  type Row,
} from './support';

/**
 * StreamContainers against ListContainers over 2,000 containers (docker-created, never started):
 * median time of a whole answer as the kubelet reads it, the largest single message, and the
 * docker-cri process's peak RSS (VmHWM) over the runs, each mode in a fresh process.
 */
const COUNT = Number(process.env.BENCH_STREAM_COUNT ?? 2000);
const RUNS = 20;

function peakRss(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.replace(/\D+/g, '')) * 1024 : 0;
}

/** ListContainers' answer as raw bytes, to measure the one message it is. */
function rawList(shim: BenchShim, req: object): Promise<Buffer> {
  const client = shim.client.runtime;
  const def = (client.constructor as unknown as { service: grpc.ServiceDefinition }).service.ListContainers;
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      (b: Buffer) => b,
      req,
      (err, res) => (err ? reject(err) : resolve(res as Buffer)),
    ),
  );
}

async function measure(
  mode: string,
  call: (shim: BenchShim) => Promise<number>,
  largest: (shim: BenchShim) => Promise<number>,
  chunks: (shim: BenchShim) => Promise<number>,
): Promise<Row> {
  const shim = await startBinaryShim();
  try {
    // The index fills from Docker at start; wait until it holds the whole batch.
    while ((await call(shim)) < COUNT) await sleep(200);
    const before = peakRss(shim.child.pid as number);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [ms, n] = await timeMs(() => call(shim));
      if (n !== COUNT) throw new Error(`${mode} answered ${n} items, not ${COUNT}`);
      times.push(ms);
    }
    return {
      containers: COUNT,
      call: mode,
      'median ms': median(times),
      messages: await chunks(shim),
      'largest message KiB': (await largest(shim)) / 1024,
      'peak RSS before MiB': before / 2 ** 20,
      'peak RSS after MiB': peakRss(shim.child.pid as number) / 2 ** 20,
    };
  } finally {
    await shim.stop();
  }
}

async function main(): Promise<void> {
  const d = docker();
  const batch = newMassBatch();
  const req = { filter: { label_selector: { [MASS_LABEL]: batch } } };
  try {
    await createMassPods(d, COUNT, 'bench', batch);
    const rows: Row[] = [];
    rows.push(
      await measure(
        'ListContainers',
        async (s) => (await s.client.rt<{ containers: unknown[] }>('ListContainers', req)).containers.length,
        async (s) => (await rawList(s, req)).length,
        async () => 1,
      ),
    );
    rows.push(
      await measure(
        'StreamContainers',
        async (s) =>
          (await s.client.collect<{ containers: unknown[] }>('StreamContainers', req)).reduce(
            (n, c) => n + c.containers.length,
            0,
          ),
        async (s) =>
          Math.max(...(await s.client.collectRaw('StreamContainers', req)).map((r) => r.bytes.length)),
        async (s) => (await s.client.collectRaw('StreamContainers', req)).length,
      ),
    );
    printTable(`StreamContainers vs ListContainers (median of ${RUNS})`, rows);
    console.log(`wrote ${writeResults('list-stream', { runs: RUNS, rows })}`);
  } finally {
    await removeMassPods(d, batch);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
